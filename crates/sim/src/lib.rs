//! `metal-sim`: a rack of simulated Intel AMT boards for testing `metal` without hardware.
//!
//! Each board listens on its own loopback address at the AMT ports (16992 HTTP, 16993 TLS)
//! and speaks WS-Management (DMTF DSP0226) the way the recorded AMT 12 firmware in
//! `tests/fixtures/amt-wsman` does: HTTP Digest (RFC 2617) with AMT's challenge layout and
//! lockout, chunked compact SOAP responses, stateful power (with a busy window) and a
//! one-shot boot override, hardware inventory classes, and injectable faults.
//!
//! Each board also speaks the AMT redirection protocol (Serial-over-LAN) on 16994 and, with
//! TLS, 16995 (amt-protocol.md §2c), in front of a simulated host whose serial console is
//! alive: every boot prints a BIOS banner, a PXE or disk boot, a kernel log and a getty's
//! `login:` prompt, and the getty answers keystrokes (see the `sol` module).
//!
//! By design this crate shares no code with the WS-Man/AMT client crates: it has its own
//! XML parsing, digest checking and HTTP serving, so a misunderstanding of the protocol in
//! one cannot hide in the other. Protocol sources are cited in each module
//! (see also `shared/docs/amt-protocol.md`).
//!
//! Behaviour choices where no capture exists:
//! - Identify (DSP0226 §11) is answered without authentication, like openwsman.
//! - A power change requested during the busy window gets ReturnValue 4099 (DSP1027 "Busy").
//! - Faults are HTTP 400 SOAP faults; unknown resources and unmatched selectors give
//!   `a:Sender`/`b:DestinationUnreachable`.
//! - While a SOL session is open, power off (8, 12) and power cycle (5) get ReturnValue 6
//!   ("In Use"); resets and power on are allowed (Intel's caveat, amt-protocol.md §2a).
//! - `ListenerEnabled=false` closes the redirection ports; SOL disabled in `EnabledState`
//!   answers StartRedirectionSession with status 0xFF (details in `sol::session`).

mod board;
mod boot_settings;
mod classes;
mod config;
mod control;
mod digest;
mod dispatch;
mod events;
mod http;
mod identity;
mod listener;
mod machine;
mod qemu;
mod render;
mod reports;
mod sim;
mod sol;
mod tls;
mod wsman;
mod xml;

use std::net::{Ipv4Addr, SocketAddr};

pub use board::{BoardHandle, Fault, SolFault};
pub use config::{Profile, ProfileParseError, Reports, ReportsByBoard, SimConfig};
pub use control::{Consent, Control, ControlByBoard, ControlError, ControlMode};
pub use events::{BootRecord, RequestRecord, SimEvent, SimStats, SolAuth};
pub use http::MAX_BODY;
pub use identity::HardwareKind;
pub use qemu::{Disks, Firmware, MAX_DISKS, QemuBoards};
pub use sim::Sim;
pub use wsman::{Operation, ParseError, WsmanRequest, parse_request};
pub use xml::{Element, XmlError};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that failed.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration cannot work.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A QEMU board cannot be set up (its tap, its disks).
    #[error("QEMU board {ip}: {reason}")]
    Qemu {
        /// The board.
        ip: Ipv4Addr,
        /// What failed.
        reason: String,
    },
    /// A board's TLS certificate could not be made.
    #[error("cannot create the TLS certificate of {ip}: {reason}")]
    Tls {
        /// The board.
        ip: Ipv4Addr,
        /// What failed.
        reason: String,
    },
}
