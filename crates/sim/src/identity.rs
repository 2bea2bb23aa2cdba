//! Deterministic board identities and hardware, derived from `(seed, board index)`, and the
//! model every board is (the recorded NUC9V7QNX: WS-Man reports it in the inventory classes,
//! the host prints it while it boots).
//!
//! Every value that must be unique across a rack embeds the board index, so uniqueness does
//! not rest on hash luck; the seed only varies the remaining bytes between simulator runs.

use metal_types::MacAddr;

use crate::qemu::Disks;

/// Chassis maker and model (CIM_Chassis), also printed by the host's BIOS banner.
pub(crate) const SYSTEM_MAKER: &str = "Intel(R) Client Systems";
pub(crate) const SYSTEM_MODEL: &str = "NUC9V7QNX";
/// Base board model (CIM_Card).
pub(crate) const BOARD_MODEL: &str = "NUC9V7QNB";
/// CIM_BIOSElement.Version.
pub(crate) const BIOS_VERSION: &str = "QNCFLX70.0054.2020.0810.2227";
/// CIM_Chip.Version: the CPU.
pub(crate) const CPU: &str = "Intel(R) Core(TM) i7-9850H CPU @ 2.60GHz";

/// The kind of a simulated disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiskKind {
    /// A spinning disk.
    Hdd,
    /// A SATA SSD.
    Ssd,
}

/// A simulated disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disk {
    pub kind: DiskKind,
    /// `CIM_PhysicalPackage.Manufacturer`.
    pub maker: &'static str,
    pub model: &'static str,
    pub serial: String,
    /// Capacity in kilobytes (1000 bytes), the unit of `CIM_MediaAccessDevice.MaxMediaSize`.
    pub size_kb: u64,
}

/// One of the simulator's three board models, for a rack that is all one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardwareKind {
    /// One 4 GiB DIMM, no disks.
    Diskless4g = 0,
    /// Two 4 GiB DIMMs, four HDDs.
    Hdd8g = 1,
    /// Two 4 GiB DIMMs, two SSDs.
    Ssd8g = 2,
}

impl std::str::FromStr for HardwareKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "4g-diskless" => Ok(Self::Diskless4g),
            "8g-4hdd" => Ok(Self::Hdd8g),
            "8g-2ssd" => Ok(Self::Ssd8g),
            other => Err(format!(
                "unknown hardware {other:?} (expected 4g-diskless, 8g-4hdd or 8g-2ssd)"
            )),
        }
    }
}

/// The hardware of one board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hardware {
    /// Capacity of each DIMM in bytes.
    pub dimms: Vec<u64>,
    pub disks: Vec<Disk>,
}

/// Everything that tells one board from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The system UUID in RFC 4122 byte order.
    pub uuid: [u8; 16],
    /// Chassis serial number.
    pub serial: String,
    /// Base board serial number.
    pub board_serial: String,
    pub mac: MacAddr,
    /// `Digest:` + 32 uppercase hex digits (amt-protocol.md §2b).
    pub realm: String,
    pub hardware: Hardware,
}

const GIB: u64 = 1 << 30;

/// SplitMix64: a tiny, well-mixed deterministic generator.
fn mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Identity {
    /// The identity of board `index` for a given seed.
    pub(crate) fn derive(seed: u64, index: usize) -> Self {
        let idx = index as u32;
        let mut st = seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&mix(&mut st).to_be_bytes());
        uuid[8..12].copy_from_slice(&mix(&mut st).to_be_bytes()[..4]);
        uuid[12..].copy_from_slice(&idx.to_be_bytes());
        uuid[6] = (uuid[6] & 0x0F) | 0x40; // version 4
        uuid[8] = (uuid[8] & 0x3F) | 0x80; // RFC 4122 variant

        let r = mix(&mut st);
        let serial = format!("JRQN{:02X}{:06X}", r as u8, idx & 0xFF_FFFF);
        let board_serial = format!("KNQN{:02X}{:06X}", (r >> 8) as u8, idx & 0xFF_FFFF);
        // Locally administered, unicast; the low four bytes are the index.
        let i = idx.to_be_bytes();
        let mac = MacAddr([0x02, (r >> 16) as u8, i[0], i[1], i[2], i[3]]);
        let realm = format!(
            "Digest:{:016X}{:08X}{:08X}",
            mix(&mut st),
            mix(&mut st) as u32,
            idx
        );
        let hardware = Hardware::for_index(index, &mut st);
        Self {
            uuid,
            serial,
            board_serial,
            mac,
            realm,
            hardware,
        }
    }

    /// Canonical lowercase 8-4-4-4-12 form.
    /// The same board with every board's hardware of one `kind` (a batch of one model).
    pub(crate) fn with_kind(mut self, kind: HardwareKind) -> Self {
        let mut st = u64::from_le_bytes(self.uuid[..8].try_into().unwrap_or_default());
        self.hardware = Hardware::for_index(kind as usize, &mut st);
        self
    }

    pub(crate) fn uuid_string(&self) -> String {
        let h = hex::encode(self.uuid);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// `CIM_ComputerSystemPackage.PlatformGUID`: the UUID in SMBIOS byte order, i.e. with the
    /// first three groups byte-swapped, as 32 uppercase hex digits (amt-protocol.md §2a,
    /// "System UUID").
    pub(crate) fn platform_guid(&self) -> String {
        let u = self.uuid;
        let smbios = [
            u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13],
            u[14], u[15],
        ];
        hex::encode_upper(smbios)
    }
}

impl Hardware {
    /// Variety by index (i % 3): 0 = one 4 GiB DIMM and no disks; 1 = two 4 GiB DIMMs and four
    /// HDDs; 2 = two 4 GiB DIMMs and two SSDs.
    pub(crate) fn for_index(index: usize, st: &mut u64) -> Self {
        let mut disk = |kind, model, size_kb| Disk {
            kind,
            maker: match kind {
                DiskKind::Hdd => "Western Digital",
                DiskKind::Ssd => "Samsung",
            },
            model,
            serial: format!("{:012X}", mix(st) >> 16),
            size_kb,
        };
        match index % 3 {
            0 => Self {
                dimms: vec![4 * GIB],
                disks: Vec::new(),
            },
            1 => Self {
                dimms: vec![4 * GIB, 4 * GIB],
                disks: (0..4)
                    .map(|_| disk(DiskKind::Hdd, "WDC WD40EFRX-68N32N0", 3_907_018_584))
                    .collect(),
            },
            _ => Self {
                dimms: vec![4 * GIB, 4 * GIB],
                disks: (0..2)
                    .map(|_| disk(DiskKind::Ssd, "Samsung SSD 860 EVO 1TB", 976_762_584))
                    .collect(),
            },
        }
    }
}

impl Hardware {
    /// The hardware of a QEMU board's VM: one DIMM of its memory and its disks, named the
    /// way QEMU names its emulated drives ("QEMU HARDDISK"; "SSD" in the model is what tells
    /// an SSD in the inventory), serials unique per board.
    pub(crate) fn of_vm(memory_mib: u32, disks: Disks, index: usize) -> Self {
        let (kind, model) = if disks.ssd {
            (DiskKind::Ssd, "QEMU SSD")
        } else {
            (DiskKind::Hdd, "QEMU HARDDISK")
        };
        Self {
            dimms: vec![u64::from(memory_mib) << 20],
            disks: (0..disks.count)
                .map(|i| Disk {
                    kind,
                    maker: "QEMU",
                    model,
                    serial: format!("QM{index:08X}{i:02}"),
                    size_kb: disks.bytes / 1000,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn identities_are_deterministic_and_unique() {
        assert_eq!(Identity::derive(7, 3), Identity::derive(7, 3));
        let ids: Vec<Identity> = (0..2000).map(|i| Identity::derive(7, i)).collect();
        let uuids: HashSet<_> = ids.iter().map(|i| i.uuid).collect();
        let serials: HashSet<_> = ids.iter().map(|i| i.serial.clone()).collect();
        let macs: HashSet<_> = ids.iter().map(|i| i.mac).collect();
        let realms: HashSet<_> = ids.iter().map(|i| i.realm.clone()).collect();
        for n in [uuids.len(), serials.len(), macs.len(), realms.len()] {
            assert_eq!(n, 2000);
        }
        let r = &ids[5].realm;
        assert!(r.starts_with("Digest:") && r.len() == 39, "{r}");
        assert!(
            r[7..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
    }

    #[test]
    fn platform_guid_swaps_first_three_groups() {
        // amt-protocol.md §2a: PlatformGUID 44454C4C4B0010428033B6C04F504633 is UUID
        // 4c4c4544-004b-4210-8033-b6c04f504633.
        let mut id = Identity::derive(0, 0);
        id.uuid = [
            0x4c, 0x4c, 0x45, 0x44, 0x00, 0x4b, 0x42, 0x10, 0x80, 0x33, 0xb6, 0xc0, 0x4f, 0x50,
            0x46, 0x33,
        ];
        assert_eq!(id.uuid_string(), "4c4c4544-004b-4210-8033-b6c04f504633");
        assert_eq!(id.platform_guid(), "44454C4C4B0010428033B6C04F504633");
    }
}
