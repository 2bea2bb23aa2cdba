//! `GET /files/{path}` and `GET /tftp/{path}`: boot files over HTTP, from the same
//! [`SafeRoot`] code as TFTP, with single byte ranges (RFC 9110 §14) so image downloads can
//! resume.
//!
//! RFC 9110 §14.2: a server may ignore `Range`; we answer one satisfiable range with 206 and
//! `Content-Range` (§14.4), an unsatisfiable one with 416 and `Content-Range: bytes */LEN`
//! (§15.5.17), and several ranges with the whole file (200), which every client must accept.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metal_types::text::Escaped;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use tracing::{debug, warn};

use super::state::text;
use crate::safe_root::{Refusal, SafeRoot};

/// Read size per chunk of a response body.
const CHUNK: usize = 64 * 1024;

/// Serves `path` from `root`.
pub(super) async fn serve(
    root: Arc<SafeRoot>,
    path: String,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    let shown = Escaped(&path).to_string();
    let opened = tokio::task::spawn_blocking(move || root.file(&PathBuf::from(path))).await;
    let (file, len) = match opened {
        Ok(Ok(f)) => f,
        Ok(Err(refusal)) => {
            if refusal == Refusal::Outside {
                warn!("http: {peer} GET {shown}: refused, outside the root");
            }
            return text(StatusCode::NOT_FOUND, format!("{refusal}\n"));
        }
        Err(e) => {
            warn!("http: {peer} GET {shown}: {e}");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot open the file\n".into(),
            );
        }
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| http_range_header::parse_range_header(v).and_then(|r| r.validate(len)));
    let (status, start, count) = match range {
        None => (StatusCode::OK, 0, len),
        Some(Ok(ranges)) if ranges.len() == 1 => {
            let (first, last) = (*ranges[0].start(), *ranges[0].end());
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        Some(Ok(_)) => (StatusCode::OK, 0, len),
        Some(Err(_)) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    let mut file = tokio::fs::File::from_std(file);
    if start > 0
        && let Err(e) = file.seek(std::io::SeekFrom::Start(start)).await
    {
        warn!("http: {peer} GET {shown}: seek: {e}");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the file\n".into(),
        );
    }
    debug!("http: {peer} GET {shown}: {count} bytes from {start}");
    let body = Body::from_stream(ReaderStream::with_capacity(file.take(count), CHUNK));
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}
