//! Errors of WS-Man calls. Every error names the host it came from.

use std::time::Duration;

use metal_types::output::ErrorKind as Category;

use crate::response::{Fault, ResponseError};

/// A failed WS-Man call on one host.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host}: {kind}")]
pub struct Error {
    /// `address:port` of the AMT endpoint.
    pub host: String,
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no connection within {} ms (connect timeout)", .0.as_millis())]
    ConnectTimeout(Duration),
    #[error("no response within {} ms (read timeout)", .0.as_millis())]
    ReadTimeout(Duration),
    #[error("connection lost: {0}")]
    Connection(String),
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error(
        "TLS certificate changed: pinned sha256:{expected}, board presented sha256:{actual}; \
         refusing to talk to it (if the board was replaced or re-keyed, re-pin it explicitly with --repin)"
    )]
    PinMismatch { expected: String, actual: String },
    #[error(
        "authentication failed: wrong user or password, or the account is locked after repeated failures"
    )]
    Auth,
    #[error("HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Http { status: u16, detail: String },
    #[error("WS-Man fault {0}")]
    Fault(Fault),
    #[error("{method} returned {code} ({})", return_value_meaning(*.code))]
    MethodFailed { method: String, code: u32 },
    #[error("response larger than the limit of {0} bytes; refused")]
    TooLarge(usize),
    #[error("{0}; refused")]
    OverBudget(crate::budget::PoolDry),
    #[error("{what} sent more than {limit}; refused")]
    Unbounded { what: &'static str, limit: String },
    #[error("invalid response: {0}")]
    Response(ResponseError),
    #[error("cannot record the TLS pin: {0}")]
    PinStore(String),
}

impl From<ResponseError> for ErrorKind {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::Fault(f) => ErrorKind::Fault(f),
            other => ErrorKind::Response(other),
        }
    }
}

impl Error {
    pub fn new(host: impl Into<String>, kind: impl Into<ErrorKind>) -> Self {
        Self {
            host: host.into(),
            kind: kind.into(),
        }
    }

    /// The stable category used in `--json` output.
    pub fn category(&self) -> Category {
        match &self.kind {
            ErrorKind::Connect(_) | ErrorKind::Connection(_) => Category::Connection,
            ErrorKind::ConnectTimeout(_) | ErrorKind::ReadTimeout(_) => Category::Timeout,
            ErrorKind::Tls(_) | ErrorKind::PinMismatch { .. } | ErrorKind::PinStore(_) => {
                Category::Tls
            }
            ErrorKind::Auth => Category::Auth,
            ErrorKind::Fault(_) | ErrorKind::MethodFailed { .. } => Category::Fault,
            ErrorKind::Http { .. }
            | ErrorKind::TooLarge(_)
            | ErrorKind::OverBudget(_)
            | ErrorKind::Unbounded { .. }
            | ErrorKind::Response(_) => Category::Protocol,
        }
    }
}

/// Meaning of a CIM method return code (DSP0004 / CIM_PowerManagementService value map).
pub fn return_value_meaning(code: u32) -> &'static str {
    match code {
        0 => "completed",
        1 => "not supported",
        2 => "unknown or unspecified error",
        3 => "cannot complete within timeout",
        4 => "failed",
        5 => "invalid parameter",
        6 => "in use",
        4096 => "job started",
        _ => "vendor-specific error",
    }
}
