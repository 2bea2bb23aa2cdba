//! Hardware inventory read over WS-Man: identity, board, BIOS, CPUs, memory, disks, MAC and
//! firmware version. Singletons are read with Get, multi-instance classes with Enumerate+Pull
//! (the order Intel's Console uses; AMT 21 may report no `CIM_Processor`, which is not an
//! error — amt-protocol.md §6).

use metal_types::hardware::{Cpu, Dimm, Disk, Hardware, Product};
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

fn product(e: &Element) -> Product {
    let text = |n: &str| e.prop(n).unwrap_or_default().trim().to_string();
    Product {
        manufacturer: text("Manufacturer"),
        model: text("Model"),
        serial: text("SerialNumber"),
    }
}

impl Amt {
    /// The SMBIOS system UUID of the board answering at this address (one request): what the
    /// wrong-box guard compares with the recorded UUID before any power or boot change.
    pub async fn system_uuid(&mut self) -> Result<String, Error> {
        let package = self.get_class(COMPUTER_SYSTEM_PACKAGE, Vec::new()).await?;
        let guid = package.prop("PlatformGUID").unwrap_or_default().to_string();
        uuid_from_platform_guid(&guid)
            .ok_or_else(|| self.data(format!("PlatformGUID {guid:?} is not 32 hex digits")))
    }

    /// Reads the hardware inventory (about a dozen requests).
    pub async fn hardware(&mut self) -> Result<Hardware, Error> {
        let uuid = self.system_uuid().await?;
        let chassis = product(&self.get_class(CHASSIS, Vec::new()).await?);
        let board = product(&self.get_class(CARD, Vec::new()).await?);
        let bios = self.get_class(BIOS_ELEMENT, Vec::new()).await?;
        let chips = self.client.enumerate(&classes::uri(CHIP)).await?;
        let cpus = chips
            .iter()
            .filter(|c| {
                c.prop("Tag").is_some_and(|t| t.starts_with("CPU"))
                    || c.prop("ElementName")
                        .is_some_and(|n| n.contains("Processor"))
            })
            .map(|c| Cpu {
                socket: c.prop("Tag").unwrap_or_default().to_string(),
                model: c.prop("Version").unwrap_or_default().trim().to_string(),
                max_mhz: c.prop("MaxClockSpeed").and_then(|v| v.parse().ok()),
            })
            .collect();
        let dimms: Vec<Dimm> = self
            .client
            .enumerate(&classes::uri(PHYSICAL_MEMORY))
            .await?
            .iter()
            .map(|m| Dimm {
                bank: m.prop("BankLabel").unwrap_or_default().to_string(),
                bytes: m
                    .prop("Capacity")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0),
                part_number: m.prop("PartNumber").unwrap_or_default().trim().to_string(),
            })
            .collect();
        let memory_bytes = dimms.iter().map(|d| d.bytes).sum();
        let disks = self.disks().await?;
        let port = self
            .get_class(
                ETHERNET_PORT_SETTINGS,
                vec![Selector::new("InstanceID", WIRED_PORT_ID)],
            )
            .await?;
        let mac = port.prop("MACAddress").and_then(|m| m.parse().ok());
        let amt_version = self
            .get_class(SOFTWARE_IDENTITY, vec![Selector::new("InstanceID", "AMT")])
            .await
            .ok()
            .and_then(|s| s.prop("VersionString").map(str::to_string));
        Ok(Hardware {
            uuid,
            chassis,
            board,
            bios_version: bios.prop("Version").unwrap_or_default().trim().to_string(),
            cpus,
            dimms,
            memory_bytes,
            disks,
            mac,
            amt_version,
        })
    }

    /// Storage devices with their model names. AMT lists devices in `CIM_MediaAccessDevice`
    /// (capacity) and their packages in `CIM_PhysicalPackage` (model); they are paired in order.
    async fn disks(&mut self) -> Result<Vec<Disk>, Error> {
        let devices = self
            .client
            .enumerate(&classes::uri(MEDIA_ACCESS_DEVICE))
            .await?;
        let packages = self
            .client
            .enumerate(&classes::uri(PHYSICAL_PACKAGE))
            .await?;
        let models: Vec<&str> = packages
            .iter()
            .filter(|p| {
                p.prop("CreationClassName") == Some("CIM_PhysicalPackage")
                    && p.prop("PackageType") != Some("3")
            })
            .map(|p| p.prop("Model").unwrap_or_default().trim())
            .collect();
        Ok(devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let model = models.get(i).copied().unwrap_or_default().to_string();
                let kb: u64 = d
                    .prop("MaxMediaSize")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                Disk {
                    id: d.prop("DeviceID").unwrap_or_default().to_string(),
                    ssd: model.to_ascii_uppercase().contains("SSD")
                        || model.to_ascii_uppercase().contains("NVME"),
                    model,
                    bytes: kb.saturating_mul(1000),
                }
            })
            .collect())
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
