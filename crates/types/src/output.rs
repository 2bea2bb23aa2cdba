//! The `--json` output schema: one document per command, always in the same envelope:
//! `schema_version` (this crate's [`SCHEMA_VERSION`]; it changes only when a field is renamed
//! or removed, never when one is added) and `command` (the subcommand, e.g. `power status`).
//!
//! Fleet commands (power, boot, show of an address, enroll, state, dns sync) are a [`Report`]:
//! one entry per host and a summary.
//!
//! ```json
//! {"schema_version":1,"command":"power status","hosts":[
//!    {"host":"127.0.10.1","ok":true,"power":"on"},
//!    {"host":"127.0.10.9","ok":false,"error":{"kind":"timeout","message":"..."}}],
//!  "summary":{"ok":1,"failed":1}}
//! ```
//! Field names are stable: scripts rely on them. A successful host carries the command's own
//! fields (flattened); a failed one carries `error.kind` (one of the [`ErrorKind`] names) and
//! `error.message`.
//!
//! Every other command is a [`Document`]: the envelope with the command's own fields
//! flattened beside it (`ls`: `machines`; `events`: `events`; `discover`: `probed`, `found`;
//! `show` of an inventory host: `machine`, `guests`).

use serde::{Deserialize, Serialize};

use crate::ExitCode;

/// The version of the `--json` documents' shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A non-fleet command's `--json` document: the envelope and the command's fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document<T> {
    pub schema_version: u32,
    pub command: String,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Document<T> {
    pub fn new(command: impl Into<String>, body: T) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            command: command.into(),
            body,
        }
    }
}

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
    pub schema_version: u32,
    pub command: String,
    pub hosts: Vec<HostReport<T>>,
    pub summary: Summary,
}

impl<T> Report<T> {
    pub fn new(command: impl Into<String>, hosts: Vec<HostReport<T>>) -> Self {
        let ok = hosts.iter().filter(|h| h.ok).count();
        let failed = hosts.len() - ok;
        Self {
            schema_version: SCHEMA_VERSION,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Power {
        power: &'static str,
    }

    #[test]
    fn fleet_report_has_the_envelope_and_flattened_rows() {
        let report = Report::new(
            "power status",
            vec![
                HostReport::ok("10.0.0.1", Power { power: "on" }),
                HostReport::failed("10.0.0.2", ErrorKind::Timeout, "no answer"),
            ],
        );
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "schema_version": SCHEMA_VERSION,
                "command": "power status",
                "hosts": [
                    {"host": "10.0.0.1", "ok": true, "power": "on"},
                    {"host": "10.0.0.2", "ok": false,
                     "error": {"kind": "timeout", "message": "no answer"}}
                ],
                "summary": {"ok": 1, "failed": 1}
            })
        );
        assert_eq!(report.exit_code(), ExitCode::PARTIAL);
    }

    #[test]
    fn document_flattens_the_body_beside_the_envelope() {
        #[derive(Serialize)]
        struct Ls {
            machines: Vec<u32>,
        }
        let doc = serde_json::to_value(Document::new("ls", Ls { machines: vec![1] })).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"schema_version": SCHEMA_VERSION, "command": "ls", "machines": [1]})
        );
    }
}
