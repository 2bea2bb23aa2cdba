//! One HTTP/1.1 request over a connection already made (plain TCP to the netboot server, mutual
//! TLS to an agent), its answer read up to a bound. The callers own connecting and deadlines.

use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Bytes};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Sends `request` over `io` and reads the status and at most `max_answer` bytes of body.
pub(crate) async fn exchange<IO, B>(
    io: IO,
    request: Request<B>,
    max_answer: usize,
) -> Result<(StatusCode, Bytes), String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = Limited::new(response.into_body(), max_answer)
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    Ok((status, body))
}
