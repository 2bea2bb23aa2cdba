//! Plain types shared by every `metal` crate.
//!
//! Nothing here does I/O. The crate exists so that the CLI, the AMT client, the simulator and
//! the inventory agree on names and numbers without depending on each other: power
//! states and their DMTF values, boot devices, MAC addresses, target specifications, the
//! hardware record, the boot-event wire type, the `--json` output schema and the process exit
//! codes, and the escaping of outside text for terminals and logs.

pub mod boot_event;
pub mod dns_name;
pub mod exit;
pub mod hardware;
pub mod mac;
pub mod output;
pub mod power;
pub mod target;
pub mod text;

pub use boot_event::BootEvent;
pub use dns_name::DnsName;
pub use exit::ExitCode;
pub use mac::MacAddr;
pub use output::{
    Document, ErrorKind, HostError, HostOutcome, HostReport, Report, SCHEMA_VERSION, Summary,
};
pub use power::{BootDevice, PowerAction, PowerState};
pub use target::{Target, TargetError};
