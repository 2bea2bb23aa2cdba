//! Boards backed by QEMU virtual machines (`SimConfig::qemu`): everything on the AMT side
//! (WS-Man, digest, TLS, faults, SOL framing) stays the simulator's, but the host behind it
//! is a real VM.
//!
//! - Power: on = a QEMU process running, off = none. A reset is QMP `system_reset`; a power
//!   cycle is off then on. QEMU runs with `-no-reboot`, so every reset ends the process and
//!   the next one starts with the boot device the firmware would pick (below): one process
//!   per boot keeps the boot order exact without changing QEMU's devices at run time.
//! - Boot: the one-shot override (amt-protocol.md §2a) decides `bootindex`: the NIC first for
//!   PXE; otherwise the disks first and the NIC after them, the order of a desktop BIOS (blank
//!   disks fall through to the network). A reboot the VM's own OS asks for is a boot like one
//!   AMT asks for: it uses and consumes the override.
//! - SOL: the VM's first serial port (`-serial` on QEMU's stdio) is the board's console.
//! - Inventory: memory, disks (size, SSD or HDD) and MAC are the VM's ([`QemuBoards`]).
//! - Network: one tap per board on the configured bridge, optionally in a network namespace.
//!
//! [`host`] runs the VM of one board; [`vm`] builds its command line and process; [`qmp`]
//! speaks to QEMU's monitor; [`tap`] makes and removes the taps.

pub(crate) mod host;
pub(crate) mod qmp;
pub(crate) mod tap;
pub(crate) mod vm;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The firmware of a QEMU board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Firmware {
    /// SeaBIOS with QEMU's iPXE option ROM on the NIC.
    #[default]
    Bios,
    /// OVMF (UEFI), with the firmware's own PXE (the NIC's option ROM removed).
    Uefi,
}

impl FromStr for Firmware {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bios" => Ok(Self::Bios),
            "uefi" => Ok(Self::Uefi),
            _ => Err(format!("firmware {s:?}: expected bios or uefi")),
        }
    }
}

impl fmt::Display for Firmware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bios => "bios",
            Self::Uefi => "uefi",
        })
    }
}

/// The disks of every QEMU board: `COUNTxSIZE[:ssd]` (`4x8G`, `2x4G:ssd`) or `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disks {
    /// How many.
    pub count: usize,
    /// Bytes each.
    pub bytes: u64,
    /// Solid-state (reported as SSDs, and given `discard=unmap`) rather than spinning.
    pub ssd: bool,
}

/// The most disks a board may have (a desktop board has a handful of SATA ports).
pub const MAX_DISKS: usize = 8;

impl FromStr for Disks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "0" {
            return Ok(Self {
                count: 0,
                bytes: 0,
                ssd: false,
            });
        }
        let bad = |why: &str| {
            format!("disks {s:?}: {why} (expected COUNTxSIZE[:ssd], e.g. 4x8G, 2x4G:ssd, or 0)")
        };
        let (spec, ssd) = match s.split_once(':') {
            Some((spec, "ssd")) => (spec, true),
            Some((spec, "hdd")) => (spec, false),
            Some(_) => return Err(bad("the kind after ':' is ssd or hdd")),
            None => (s, false),
        };
        let (count, size) = spec.split_once('x').ok_or_else(|| bad("no 'x'"))?;
        let count: usize = count
            .parse()
            .map_err(|_| bad("the count is not a number"))?;
        if count == 0 || count > MAX_DISKS {
            return Err(bad(&format!("the count must be 1 to {MAX_DISKS}")));
        }
        let (digits, unit) = size.split_at(size.len().saturating_sub(1));
        let shift = match unit {
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => return Err(bad("the size ends in M, G or T")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| bad("the size is not a number"))?;
        let bytes = n
            .checked_mul(1 << shift)
            .filter(|b| (1 << 20..=1 << 44).contains(b))
            .ok_or_else(|| bad("each disk is 1M to 16T"))?;
        Ok(Self { count, bytes, ssd })
    }
}

impl fmt::Display for Disks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return f.write_str("0");
        }
        let (n, unit) = if self.bytes.is_multiple_of(1 << 30) {
            (self.bytes >> 30, "G")
        } else {
            (self.bytes >> 20, "M")
        };
        write!(f, "{}x{n}{unit}", self.count)?;
        if self.ssd {
            f.write_str(":ssd")?;
        }
        Ok(())
    }
}

/// How QEMU boards are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuBoards {
    /// The bridge every board's tap joins (it must exist).
    pub bridge: String,
    /// The network namespace the bridge and the VMs live in; `None`: this one.
    pub netns: Option<String>,
    /// Each board's disks.
    pub disks: Disks,
    /// Each VM's memory.
    pub memory_mib: u32,
    pub firmware: Firmware,
    /// Where disk images, QEMU's logs and monitor sockets go. Disk images that exist are
    /// kept (a board keeps its disks across simulator runs), others are created sparse.
    pub dir: PathBuf,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// The OVMF image for [`Firmware::Uefi`].
    pub ovmf: PathBuf,
}

impl QemuBoards {
    /// Debian's QEMU and OVMF, 1 GiB boards without disks, SeaBIOS.
    pub fn new(bridge: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Self {
            bridge: bridge.into(),
            netns: None,
            disks: Disks {
                count: 0,
                bytes: 0,
                ssd: false,
            },
            memory_mib: 1024,
            firmware: Firmware::Bios,
            dir: dir.into(),
            qemu: PathBuf::from("qemu-system-x86_64"),
            ovmf: PathBuf::from("/usr/share/ovmf/OVMF.fd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_specs_parse_and_print() {
        let d: Disks = "4x8G".parse().unwrap();
        assert_eq!((d.count, d.bytes, d.ssd), (4, 8 << 30, false));
        assert_eq!(d.to_string(), "4x8G");
        let d: Disks = "2x4G:ssd".parse().unwrap();
        assert_eq!((d.count, d.bytes, d.ssd), (2, 4 << 30, true));
        assert_eq!(d.to_string(), "2x4G:ssd");
        assert_eq!("1x512M".parse::<Disks>().unwrap().to_string(), "1x512M");
        assert_eq!("0".parse::<Disks>().unwrap().count, 0);
        for bad in [
            "",
            "4",
            "x8G",
            "0x8G",
            "9x8G",
            "4x8",
            "4x8Q",
            "4x0G",
            "4x99999999T",
            "2x4G:nvme",
            "4xG",
        ] {
            assert!(bad.parse::<Disks>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn firmware_names() {
        assert_eq!("uefi".parse::<Firmware>().unwrap(), Firmware::Uefi);
        assert_eq!(Firmware::Bios.to_string(), "bios");
        assert!("coreboot".parse::<Firmware>().is_err());
    }
}
