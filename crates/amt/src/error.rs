//! Errors of AMT operations; every one names the host.

use std::time::Duration;

use metal_types::output::ErrorKind as Category;
use metal_types::{PowerAction, PowerState};

/// A failed AMT operation on one host.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The WS-Man exchange failed (connection, auth, TLS, fault ...).
    #[error(transparent)]
    Wsman(#[from] metal_wsman::Error),
    /// The board does not advertise the requested power change in its current state.
    #[error(
        "{host}: the board does not offer {action} ({value}) while {state}; it offers: {offered}"
    )]
    Unsupported {
        host: String,
        action: PowerAction,
        value: u16,
        state: PowerState,
        offered: String,
    },
    /// The board answered the power change with a non-zero ReturnValue.
    #[error(
        "{host}: the board refused {action} (RequestPowerStateChange returned {code}: {}); AMT refuses \
         power changes while a SOL, IDE-R or KVM session is open and while a previous change is \
         still in progress (up to about 10 s)",
        metal_wsman::error::return_value_meaning(*.code)
    )]
    PowerRefused {
        host: String,
        action: PowerAction,
        code: u32,
    },
    /// The board accepted a power change but did not reach the state in time.
    #[error("{host}: still {last} {} s after requesting {action}; giving up", .waited.as_secs())]
    PowerTimeout {
        host: String,
        action: PowerAction,
        last: PowerState,
        waited: Duration,
    },
    /// A Serial-over-LAN session failed.
    #[error(transparent)]
    Sol(#[from] crate::sol::SolError),
    /// The wrong-box guard: the board at this address is not the recorded one.
    #[error(
        "{host}: refusing: the inventory records system UUID {recorded} for {hostname} at this address, \
         but the board answering reports UUID {seen} (board swapped or address moved?); nothing was changed"
    )]
    WrongBoard {
        host: String,
        hostname: String,
        recorded: String,
        seen: String,
    },
    /// The board answered, but with data `metal` cannot use.
    #[error("{host}: {what}")]
    Data { host: String, what: String },
}

impl Error {
    /// The host this error is about.
    pub fn host(&self) -> &str {
        match self {
            Error::Wsman(e) => &e.host,
            Error::Sol(e) => &e.host,
            Error::Unsupported { host, .. }
            | Error::PowerRefused { host, .. }
            | Error::WrongBoard { host, .. }
            | Error::PowerTimeout { host, .. }
            | Error::Data { host, .. } => host,
        }
    }

    /// The stable category used in `--json` output.
    pub fn category(&self) -> Category {
        match self {
            Error::Wsman(e) => e.category(),
            Error::Sol(e) => e.category(),
            Error::Unsupported { .. } => Category::Unsupported,
            Error::PowerRefused { .. } => Category::Fault,
            Error::WrongBoard { .. } => Category::WrongBoard,
            Error::PowerTimeout { .. } => Category::Timeout,
            Error::Data { .. } => Category::Protocol,
        }
    }
}
