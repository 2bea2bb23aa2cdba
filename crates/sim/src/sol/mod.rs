//! Serial-over-LAN: the AMT redirection protocol on ports 16994 (TCP) and 16995 (TLS)
//! (amt-protocol.md §2c), and the simulated host whose serial console it carries.
//!
//! - [`wire`]: message framing; [`auth`]: AuthenticateSession; [`session`]: one connection.
//! - [`console`]: the host's serial output (history and the open session's queue).
//! - [`host`], [`boot`], [`getty`]: what the host prints and how it answers keystrokes;
//!   [`host_input`]: what the host is told (power changes, boots, keystrokes).

pub(crate) mod auth;
pub(crate) mod boot;
pub(crate) mod console;
pub(crate) mod getty;
pub(crate) mod host;
pub(crate) mod host_input;
pub(crate) mod session;
pub(crate) mod wire;
