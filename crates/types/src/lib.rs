//! Plain types shared by every `metal` crate.
//!
//! Nothing here does I/O. The crate exists so that the CLI, the AMT client, the simulator and
//! (later) the inventory agree on names and numbers without depending on each other: power
//! states and their DMTF values, boot devices, MAC addresses, target specifications, the
//! `--json` output schema and the process exit codes.

pub mod exit;
pub mod mac;
pub mod output;
pub mod power;
pub mod target;

pub use exit::ExitCode;
pub use mac::MacAddr;
pub use output::{ErrorKind, HostError, HostOutcome, HostReport, Report, Summary};
pub use power::{BootDevice, PowerAction, PowerState};
pub use target::{Target, TargetError};
