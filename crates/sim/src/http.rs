//! The HTTP side of a board: one hyper HTTP/1.1 connection per accepted socket, keep-alive,
//! `POST /wsman` only, digest authentication, faults, and AMT's response framing (chunked
//! SOAP with the `Server:` header; 401 with `Connection: close`; amt-protocol.md §2a/§2b).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::board::{Board, Fault};
use crate::digest::{self, Credentials, Lockout, Verdict};
use crate::dispatch::{self, Reply};
use crate::events::{RequestRecord, SimEvent};
use crate::wsman::{self, Operation};

/// Largest request body accepted; larger ones get 413 and the connection is closed.
pub const MAX_BODY: usize = 256 * 1024;

/// The 401 page, worded like AMT's ("Incorrect user name or password, or user account
/// temporarily locked", amt-protocol.md §2b).
const UNAUTHORIZED_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n<html><head><title>Intel&reg; Active Management Technology</title></head><body><h2>Log on failed</h2><p>Incorrect user name or password, or user account temporarily locked.</p><p>Try again.</p></body></html>\n";

/// A response body sent whole, either chunked (SOAP, like firmware) or with a length.
pub(crate) struct Body {
    data: Option<Bytes>,
    chunked: bool,
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.chunked) {
            (_, true) => SizeHint::default(),
            (Some(d), false) => SizeHint::with_exact(d.len() as u64),
            (None, false) => SizeHint::with_exact(0),
        }
    }
}

/// The connection is dropped on purpose (Fault::Drop) or the client vanished mid-body:
/// returning this error makes hyper close the socket without answering.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped without an answer")
    }
}

impl std::error::Error for Dropped {}

/// Serves HTTP/1.1 on one accepted connection until the client closes it, the server
/// closes it (401, 413, 500) or the simulator shuts down.
pub(crate) async fn serve<I>(io: I, board: Arc<Board>, mut shutdown: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&board), req));
    let conn = http1::Builder::new()
        .title_case_headers(true)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.wait_for(|down| *down) => {}
    }
}

struct Answer {
    status: StatusCode,
    body: Body,
    close: bool,
    challenge: Option<String>,
}

impl Answer {
    fn soap(reply: Reply) -> Self {
        Self {
            status: StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_REQUEST),
            body: Body {
                data: Some(Bytes::from(reply.xml)),
                chunked: true,
            },
            close: false,
            challenge: None,
        }
    }

    fn plain(status: StatusCode, text: &'static str, close: bool) -> Self {
        Self {
            status,
            body: Body {
                data: Some(Bytes::from_static(text.as_bytes())),
                chunked: false,
            },
            close,
            challenge: None,
        }
    }
}

async fn handle(board: Arc<Board>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let mut record = RequestRecord {
        time: SystemTime::now(),
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        action: String::new(),
        class: String::new(),
        status: 0,
        authenticated: false,
    };
    let fault = board.current_fault();
    let answer = answer(&board, req, fault, &mut record).await;
    let Some(answer) = answer else {
        board.record(record);
        if fault == Fault::Hang {
            // Keep the socket open and never answer; the connection task ends on shutdown.
            std::future::pending::<()>().await;
        }
        return Err(Dropped);
    };
    let mut delay = board.cfg.latency;
    if let Fault::Latency(extra) = fault {
        delay = delay.saturating_add(extra);
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    record.status = answer.status.as_u16();
    board.record(record);
    Ok(build(&board, answer))
}

/// Decides the answer; `None` = answer nothing (Drop, Hang, or the client went away).
async fn answer(
    board: &Arc<Board>,
    req: Request<Incoming>,
    fault: Fault,
    record: &mut RequestRecord,
) -> Option<Answer> {
    let too_large = || {
        Answer::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large\n",
            true,
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Some(too_large());
    }
    let (path, method) = (req.uri().path().to_string(), req.method().clone());
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Some(too_large()),
        Err(_) => return None,
    };
    if matches!(fault, Fault::Drop | Fault::Hang) {
        return None;
    }
    if fault == Fault::Http500 {
        return Some(Answer::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error\n",
            true,
        ));
    }
    if path != "/wsman" {
        return Some(Answer::plain(StatusCode::NOT_FOUND, "Not Found\n", false));
    }
    if method != Method::POST {
        return Some(Answer::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed\n",
            false,
        ));
    }
    let parsed = wsman::parse_request(&body);
    if let Ok(r) = &parsed {
        record.action = r.operation.local_name().to_string();
        record.class = r.class_name().to_string();
        // Identify is answered without authentication, as openwsman does (DSP0226 §11
        // leaves it to the service); it reveals only the product and version.
        if r.operation == Operation::Identify {
            return Some(Answer::soap(dispatch::identify(board)));
        }
    }
    if let Some(a) = authenticate(board, auth.as_deref()) {
        return Some(a);
    }
    record.authenticated = true;
    Some(Answer::soap(match parsed {
        Ok(r) => dispatch::dispatch(board, &r),
        Err(_) => dispatch::malformed(board),
    }))
}

/// `None` if the credentials are good, else the 401 to send.
fn authenticate(board: &Board, header: Option<&str>) -> Option<Answer> {
    let creds = Credentials {
        user: &board.cfg.user,
        password: &board.cfg.password,
        realm: &board.id.realm,
    };
    let policy = Lockout {
        threshold: board.cfg.lockout_threshold,
        duration: board.cfg.lockout,
    };
    let mut st = board.lock();
    let verdict = st
        .auth
        .verify(header, "POST", &creds, policy, Instant::now());
    let Verdict::Challenge { stale, locked_now } = verdict else {
        return None;
    };
    let nonce = st.auth.new_nonce();
    drop(st);
    if locked_now {
        let _ = board.events.send(SimEvent::Locked { ip: board.ip });
    }
    let mut a = Answer::plain(StatusCode::UNAUTHORIZED, UNAUTHORIZED_PAGE, true);
    let qop = *board.fault.borrow() != Fault::DigestWithoutQop;
    a.challenge = Some(digest::challenge(&board.id.realm, &nonce, stale, qop));
    Some(a)
}

fn build(board: &Board, a: Answer) -> Response<Body> {
    let chunked = a.body.chunked;
    let mut resp = Response::new(a.body);
    *resp.status_mut() = a.status;
    let h = resp.headers_mut();
    if let Some(challenge) = a.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::WWW_AUTHENTICATE, challenge);
    }
    let server = format!(
        "Intel(R) Active Management Technology {}",
        board.cfg.profile.version()
    );
    if let Ok(v) = HeaderValue::from_str(&server) {
        h.insert(header::SERVER, v);
    }
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    let content_type = if chunked {
        "application/soap+xml; charset=UTF-8"
    } else {
        "text/html"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if a.close {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
