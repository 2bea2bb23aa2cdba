//! Intel AMT on top of WS-Management: power state and changes, one-shot boot override,
//! hardware inventory, endpoint discovery, and a [`Fleet`] runner for many boards.
//!
//! This crate takes endpoints and credentials, never inventory rows; the caller decides which
//! boards to act on.

pub mod boot;
pub mod classes;
pub mod control;
pub mod discover;
mod error;
pub mod fleet;
pub mod inventory;
pub mod ports;
pub mod power;
mod session;
pub mod sol;

pub use boot::BootOutcome;
pub use control::{Activation, Consent, ControlMode};
pub use discover::Discovered;
pub use error::Error;
pub use fleet::{Fleet, HostRun, OpFuture};
pub use metal_types::hardware::Hardware;
pub use power::{PowerChange, PowerStatus};
pub use session::{Amt, PowerPolicy};
