//! Hardware inventory read over WS-Man: identity, board, BIOS, CPUs, memory, disks, MAC and
//! firmware version. Singletons are read with Get, multi-instance classes with Enumerate+Pull
//! (the order Intel's Console uses; AMT 21 may report no `CIM_Processor`, which is not an
//! error — amt-protocol.md §6).

use metal_types::hardware::{Cpu, Dimm, Disk, Hardware, Product};
use metal_types::text::board_text;
use metal_wsman::{Element, Instance, Selector};

use crate::classes::{
    self, BIOS_ELEMENT, CARD, CHASSIS, CHIP, COMPUTER_SYSTEM_PACKAGE, ETHERNET_PORT_SETTINGS,
    MEDIA_ACCESS_DEVICE, PHYSICAL_MEMORY, PHYSICAL_PACKAGE, SOFTWARE_IDENTITY, WIRED_PORT_ID,
};
use crate::{Amt, Error};

/// Converts `PlatformGUID` (SMBIOS byte order, 32 hex digits) into the canonical UUID.
///
/// SMBIOS 2.6+ §7.2.1 stores the first three UUID fields little-endian, so their bytes are
/// reversed to print the UUID the OS shows (`44454C4C4B0010428033B6C04F504633` is
/// `4c4c4544-004b-4210-8033-b6c04f504633`; amt-protocol.md §2a).
pub fn uuid_from_platform_guid(guid: &str) -> Option<String> {
    let hex = guid.trim();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let h = |bytes: &[u8]| bytes.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let swapped = |bytes: &[u8]| bytes.iter().rev().copied().collect::<Vec<u8>>();
    Some(format!(
        "{}-{}-{}-{}-{}",
        h(&swapped(&b[0..4])),
        h(&swapped(&b[4..6])),
        h(&swapped(&b[6..8])),
        h(&b[8..10]),
        h(&b[10..16])
    ))
}

/// Most processors, memory modules and disks one board may report; a desktop board has at most
/// 1, 4 and 10. More is a broken or hostile board, refused rather than stored.
pub const MAX_CPUS: usize = 16;
/// See [`MAX_CPUS`].
pub const MAX_DIMMS: usize = 64;
/// See [`MAX_CPUS`].
pub const MAX_DISKS: usize = 64;

/// A property as it is kept: every string a board reports comes in through here
/// ([`board_text`]: trimmed, control characters escaped, capped in length).
fn text(e: &Element, name: &str) -> String {
    board_text(e.prop(name).unwrap_or_default())
}

fn product(e: &Element) -> Product {
    let text = |n: &str| text(e, n);
    Product {
        manufacturer: text("Manufacturer"),
        model: text("Model"),
        serial: text("SerialNumber"),
    }
}

/// What a board answered for its inventory classes, before intake.
#[derive(Debug, Clone, Copy)]
pub struct Reported<'a> {
    /// CIM_ComputerSystemPackage (the PlatformGUID).
    pub package: &'a Element,
    pub chassis: &'a Element,
    /// CIM_Card: the base board.
    pub card: &'a Element,
    pub bios: &'a Element,
    /// CIM_Chip: processors among other chips.
    pub chips: &'a [Element],
    /// CIM_PhysicalMemory.
    pub memory: &'a [Element],
    /// CIM_MediaAccessDevice: capacities.
    pub devices: &'a [Element],
    /// CIM_PhysicalPackage: disk models (paired with the devices in order).
    pub packages: &'a [Element],
    /// AMT_EthernetPortSettings of the wired port.
    pub port: &'a Element,
    /// CIM_SoftwareIdentity of AMT, when the board has it.
    pub software: Option<&'a Element>,
}

/// Why a board's report was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Refuses a report of more `what` than any real board has.
fn at_most(count: usize, cap: usize, what: &str) -> Result<(), Refused> {
    if count > cap {
        return Err(Refused(format!(
            "it reports {count} {what}; a board has at most {cap}"
        )));
    }
    Ok(())
}

/// The one way a board's report becomes a [`Hardware`] record: every string through
/// [`board_text`], counts capped ([`MAX_CPUS`], [`MAX_DIMMS`], [`MAX_DISKS`]), sums checked.
pub fn intake(r: &Reported<'_>) -> Result<Hardware, Refused> {
    let guid = r.package.prop("PlatformGUID").unwrap_or_default();
    let uuid = uuid_from_platform_guid(guid).ok_or_else(|| {
        Refused(format!(
            "PlatformGUID {:?} is not 32 hex digits",
            board_text(guid)
        ))
    })?;
    let cpus = r
        .chips
        .iter()
        .filter(|c| {
            c.prop("Tag").is_some_and(|t| t.starts_with("CPU"))
                || c.prop("ElementName")
                    .is_some_and(|n| n.contains("Processor"))
        })
        .map(|c| Cpu {
            socket: text(c, "Tag"),
            model: text(c, "Version"),
            max_mhz: c.prop("MaxClockSpeed").and_then(|v| v.trim().parse().ok()),
        })
        .collect::<Vec<_>>();
    at_most(cpus.len(), MAX_CPUS, "processors")?;
    at_most(r.memory.len(), MAX_DIMMS, "memory modules")?;
    let dimms: Vec<Dimm> = r
        .memory
        .iter()
        .map(|m| Dimm {
            bank: text(m, "BankLabel"),
            bytes: m
                .prop("Capacity")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            part_number: text(m, "PartNumber"),
        })
        .collect();
    let memory_bytes = dimms
        .iter()
        .try_fold(0u64, |sum, d| sum.checked_add(d.bytes))
        .ok_or_else(|| Refused("its memory modules add up to more than 2^64 bytes".into()))?;
    Ok(Hardware {
        uuid,
        chassis: product(r.chassis),
        board: product(r.card),
        bios_version: text(r.bios, "Version"),
        cpus,
        dimms,
        memory_bytes,
        disks: disks(r.devices, r.packages)?,
        mac: r
            .port
            .prop("MACAddress")
            .and_then(|m| m.trim().parse().ok()),
        amt_version: r
            .software
            .map(|s| text(s, "VersionString"))
            .filter(|v| !v.is_empty()),
    })
}

/// Storage devices with their model names. AMT lists devices in `CIM_MediaAccessDevice`
/// (capacity) and their packages in `CIM_PhysicalPackage` (model); they are paired in order.
fn disks(devices: &[Element], packages: &[Element]) -> Result<Vec<Disk>, Refused> {
    at_most(devices.len(), MAX_DISKS, "disks")?;
    at_most(packages.len(), MAX_DISKS + 8, "physical packages")?;
    let models: Vec<&str> = packages
        .iter()
        .filter(|p| {
            p.prop("CreationClassName") == Some("CIM_PhysicalPackage")
                && p.prop("PackageType") != Some("3")
        })
        .map(|p| p.prop("Model").unwrap_or_default())
        .collect();
    Ok(devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let model = board_text(models.get(i).copied().unwrap_or_default());
            let kb: u64 = d
                .prop("MaxMediaSize")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            Disk {
                id: text(d, "DeviceID"),
                ssd: model.to_ascii_uppercase().contains("SSD")
                    || model.to_ascii_uppercase().contains("NVME"),
                model,
                bytes: kb.saturating_mul(1000),
            }
        })
        .collect())
}

impl Amt {
    /// The SMBIOS system UUID of the board answering at this address (one request): what the
    /// wrong-box guard compares with the recorded UUID before any power or boot change.
    pub async fn system_uuid(&mut self) -> Result<String, Error> {
        let package = self.get_class(COMPUTER_SYSTEM_PACKAGE, Vec::new()).await?;
        let guid = package.prop("PlatformGUID").unwrap_or_default().to_string();
        uuid_from_platform_guid(&guid).ok_or_else(|| {
            self.data(format!(
                "PlatformGUID {:?} is not 32 hex digits",
                board_text(&guid)
            ))
        })
    }

    /// Reads the hardware inventory (about a dozen requests), then takes it in ([`intake`]).
    pub async fn hardware(&mut self) -> Result<Hardware, Error> {
        let package = self.get_class(COMPUTER_SYSTEM_PACKAGE, Vec::new()).await?;
        let chassis = self.get_class(CHASSIS, Vec::new()).await?;
        let card = self.get_class(CARD, Vec::new()).await?;
        let bios = self.get_class(BIOS_ELEMENT, Vec::new()).await?;
        let chips = self.client.enumerate(&classes::uri(CHIP)).await?;
        let memory = self
            .client
            .enumerate(&classes::uri(PHYSICAL_MEMORY))
            .await?;
        let devices = self
            .client
            .enumerate(&classes::uri(MEDIA_ACCESS_DEVICE))
            .await?;
        let packages = self
            .client
            .enumerate(&classes::uri(PHYSICAL_PACKAGE))
            .await?;
        let port = self
            .get_class(
                ETHERNET_PORT_SETTINGS,
                vec![Selector::new("InstanceID", WIRED_PORT_ID)],
            )
            .await?;
        let software = self
            .get_class(SOFTWARE_IDENTITY, vec![Selector::new("InstanceID", "AMT")])
            .await
            .ok();
        let reported = Reported {
            package: &package,
            chassis: &chassis,
            card: &card,
            bios: &bios,
            chips: &chips,
            memory: &memory,
            devices: &devices,
            packages: &packages,
            port: &port,
            software: software.as_ref(),
        };
        intake(&reported).map_err(|e| self.data(e.0))
    }

    async fn get_class(&mut self, class: &str, selectors: Vec<Selector>) -> Result<Element, Error> {
        Ok(self.client.get(&classes::uri(class), selectors).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_guid_byte_swap() {
        assert_eq!(
            uuid_from_platform_guid("44454C4C4B0010428033B6C04F504633").as_deref(),
            Some("4c4c4544-004b-4210-8033-b6c04f504633")
        );
        assert_eq!(uuid_from_platform_guid("zz"), None);
        assert_eq!(
            uuid_from_platform_guid("44454C4C4B0010428033B6C04F50463"),
            None
        );
    }
}
