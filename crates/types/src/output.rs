//! The `--json` output schema: one document per command.
//!
//! ```json
//! {"command":"power status","hosts":[
//!    {"host":"127.0.10.1","ok":true,"power":"on"},
//!    {"host":"127.0.10.9","ok":false,"error":{"kind":"timeout","message":"..."}}],
//!  "summary":{"ok":1,"failed":1}}
//! ```
//! Field names are stable: scripts rely on them. A successful host carries the command's own
//! fields (flattened); a failed one carries `error.kind` (one of the [`ErrorKind`] names) and
//! `error.message`.

use serde::{Deserialize, Serialize};

use crate::ExitCode;

/// Why a host failed, as a stable machine-readable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Wrong user or password, or the account is locked.
    Auth,
    /// Connect or read timeout.
    Timeout,
    /// Connection refused, reset or closed.
    Connection,
    /// TLS handshake failure or certificate pin mismatch.
    Tls,
    /// The board answered with a SOAP fault or a non-zero ReturnValue.
    Fault,
    /// The board answered something that is not valid WS-Man.
    Protocol,
    /// The board answering at the address is not the one the inventory records there
    /// (different system UUID): nothing was changed.
    WrongBoard,
    /// The request is not possible on this board (e.g. a power state it does not advertise).
    Unsupported,
    /// Anything else.
    Other,
}

/// A failure of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Result for one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HostOutcome<T> {
    Ok(T),
    Failed { error: HostError },
}

/// One host's line in a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostReport<T> {
    pub host: String,
    pub ok: bool,
    #[serde(flatten)]
    pub outcome: HostOutcome<T>,
}

impl<T> HostReport<T> {
    pub fn ok(host: impl Into<String>, value: T) -> Self {
        Self {
            host: host.into(),
            ok: true,
            outcome: HostOutcome::Ok(value),
        }
    }

    pub fn failed(host: impl Into<String>, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            ok: false,
            outcome: HostOutcome::Failed {
                error: HostError {
                    kind,
                    message: message.into(),
                },
            },
        }
    }
}

/// Counts of a fleet command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub ok: usize,
    pub failed: usize,
}

/// The whole `--json` document of a fleet command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report<T> {
    pub command: String,
    pub hosts: Vec<HostReport<T>>,
    pub summary: Summary,
}

impl<T> Report<T> {
    pub fn new(command: impl Into<String>, hosts: Vec<HostReport<T>>) -> Self {
        let ok = hosts.iter().filter(|h| h.ok).count();
        let failed = hosts.len() - ok;
        Self {
            command: command.into(),
            hosts,
            summary: Summary { ok, failed },
        }
    }

    /// The process exit code this report implies.
    pub fn exit_code(&self) -> i32 {
        ExitCode::for_fleet(self.summary.ok, self.summary.failed)
    }
}
