//! The hardware record: what a board reports about itself (read by `metal-amt` from WS-Man,
//! kept by `metal-inventory`, shown by the front-ends). One type for all of them, so a renamed
//! field is a compile error everywhere, and the stored JSON has the field names below.

use serde::{Deserialize, Serialize};

use crate::MacAddr;

/// Maker, model and serial of a chassis or board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
}

/// A processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    pub socket: String,
    pub model: String,
    pub max_mhz: Option<u32>,
}

/// A memory module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimm {
    pub bank: String,
    pub bytes: u64,
    pub part_number: String,
}

/// A storage device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub id: String,
    pub model: String,
    /// Capacity in bytes (`MaxMediaSize` is in kilobytes, CIM_MediaAccessDevice).
    pub bytes: u64,
    /// Solid state, as far as the model name tells (AMT reports no media type).
    pub ssd: bool,
}

/// What a board reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardware {
    /// SMBIOS system UUID, canonical form.
    pub uuid: String,
    pub chassis: Product,
    pub board: Product,
    pub bios_version: String,
    pub cpus: Vec<Cpu>,
    pub dimms: Vec<Dimm>,
    pub memory_bytes: u64,
    pub disks: Vec<Disk>,
    pub mac: Option<MacAddr>,
    pub amt_version: Option<String>,
}
