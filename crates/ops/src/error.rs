//! The one error type of expected failures, and the one place they map to exit codes.
//!
//! Every workflow returns [`Error`] for what stops it as a whole (bad flags, an unreadable
//! config file, no inventory, a database that fails); what fails on one board is a row of
//! the workflow's report instead, and the report's counts decide the exit code
//! ([`metal_types::ExitCode::for_fleet`]).

use std::path::{Path, PathBuf};

use metal_types::ExitCode;

/// A workflow could not run (or not finish) as a whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags or arguments that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// A target that does not parse or expand.
    #[error(transparent)]
    Target(#[from] metal_types::TargetError),
    /// A config file that cannot be read or parsed.
    #[error("config file {path}: {why}")]
    Config { path: PathBuf, why: String },
    /// The command needs an inventory and there is none.
    #[error(
        "there is no inventory yet (`metal enroll` creates it, or pass --db / set METAL_DB){}",
        .0.as_deref().map(|t| format!("; needed for {t}")).unwrap_or_default()
    )]
    NoInventory(Option<String>),
    /// The inventory refused or failed.
    #[error(transparent)]
    Inventory(#[from] metal_inventory::Error),
    /// No credentials for a credential set or for raw addresses.
    #[error("{0}")]
    Credentials(String),
    /// Building or sending an export failed.
    #[error(transparent)]
    Export(#[from] metal_export::Error),
    /// The netboot service could not start or stopped.
    #[error("{0}")]
    Netboot(String),
    /// A single-board command failed on its board (console, show).
    #[error(transparent)]
    Board(Box<metal_amt::Error>),
    /// An image could not be built or read.
    #[error(transparent)]
    Image(#[from] metal_image::Error),
    /// A Dom0's agent refused a request or could not be reached.
    #[error("{host}: agent: {reason}")]
    Agent { host: String, reason: String },

    /// A guest workflow failed part-way; the text says what state it left.
    #[error("{0}")]
    Guest(String),

    #[error("{0}")]
    Pki(#[from] metal_pki::Error),

    /// A kit could not be built, or an archive is not a sound kit (the text names the file).
    #[error(transparent)]
    Kit(#[from] metal_kit::Error),

    /// The front-end could not write what the workflow produced (a closed pipe, a full disk).
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<metal_amt::Error> for Error {
    fn from(e: metal_amt::Error) -> Self {
        Error::Board(Box::new(e))
    }
}

impl Error {
    /// The process exit code: 3 when the one board a command was about failed; 0 when the
    /// reader of the output went away (`metal events | head -1`), which is how pipelines end;
    /// else 1 (nothing was attempted, or the command could not go on).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Board(_) | Error::Agent { .. } | Error::Guest(_) => ExitCode::ALL_FAILED,
            // A tampered or damaged kit is a failure of the one thing checked.
            Error::Kit(metal_kit::Error::Tampered { .. } | metal_kit::Error::Manifest(_)) => {
                ExitCode::ALL_FAILED
            }
            Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::OK,
            _ => ExitCode::USAGE,
        }
    }

    /// Whether the error is only that the output's reader went away (nothing to report).
    pub fn is_closed_output(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The error for an I/O failure on `path`, for `map_err`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_failures_exit_3_and_everything_else_1() {
        let board = metal_amt::Error::Data {
            host: "10.0.0.1:16992".into(),
            what: "x".into(),
        };
        assert_eq!(Error::from(board).exit_code(), ExitCode::ALL_FAILED);
        assert_eq!(Error::NoInventory(None).exit_code(), ExitCode::USAGE);
        assert_eq!(Error::Usage("x".into()).exit_code(), ExitCode::USAGE);
        let pipe = Error::Output(std::io::ErrorKind::BrokenPipe.into());
        assert!(pipe.is_closed_output());
        assert_eq!(pipe.exit_code(), ExitCode::OK);
    }
}
