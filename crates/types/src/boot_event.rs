//! A boot event: what a netbooting machine (its iPXE script, installer or booted Dom0) reports
//! to `POST /events`. `metal-netboot` receives it, `metal-ops` applies it to the inventory.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::MacAddr;

/// One report from a machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootEvent {
    /// Milliseconds since the Unix epoch, when the server received it.
    pub at_ms: u64,
    /// The machine.
    pub mac: MacAddr,
    /// A short word: `script`, `kernel`, `installed`, `booted` …
    pub stage: String,
    /// Free text.
    pub message: String,
    /// The address it came from.
    pub from: IpAddr,
}
