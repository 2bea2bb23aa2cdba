//! A DomU as metal makes it (the seed's `install_xen.sh -h NAME -i IP -m MB -s GB`): a PV guest
//! on a logical volume of `vg00`, on the Dom0's bridge, and its `xl` configuration.
//!
//! xl.cfg(5), "Syntax": `KEY = VALUE` lines; a VALUE is a number, a string in double (or
//! single) quotes, or a list `[ VALUE, ... ]`. The guest's name is a DNS label (it is also its
//! LV name and its hostname), and any string put in the file must hold no quote, backslash or
//! line break, so nothing a caller passes can add a line to the file.

use std::fmt;
use std::net::Ipv4Addr;

use metal_types::MacAddr;

/// Why a DomU cannot be described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomUError {
    #[error("guest name {0:?}: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'")]
    Name(String),
    #[error("{what} {value:?}: no quotes, backslashes or line breaks in an xl configuration")]
    Unquotable { what: &'static str, value: String },
    #[error("{what} must be {min} to {max}, not {value}")]
    Range {
        what: &'static str,
        min: u64,
        max: u64,
        value: u64,
    },
}

/// A guest's name: its `xl` domain, its LV in `vg00` and its hostname.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestName(String);

impl GuestName {
    pub fn new(name: &str) -> Result<Self, DomUError> {
        let ok = (1..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            Ok(Self(name.to_string()))
        } else {
            Err(DomUError::Name(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GuestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a DomU is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomU {
    pub name: GuestName,
    pub address: Ipv4Addr,
    pub memory_mib: u32,
    pub vcpus: u8,
    pub disk_gib: u32,
}

/// Memory a guest may have: at least what Xen needs to load the PV kernel and initramfs and
/// boot a small Debian (64 MiB is refused by `xl create`: "segment kernel too large"), at most
/// what a board holds.
pub const MEMORY_MIB: (u64, u64) = (128, 256 * 1024);
/// Disk a guest may have.
pub const DISK_GIB: (u64, u64) = (1, 16 * 1024);

impl DomU {
    /// Checks the sizes (`-m`, `-s`) and one to 64 vCPUs.
    pub fn new(
        name: GuestName,
        address: Ipv4Addr,
        memory_mib: u32,
        vcpus: u8,
        disk_gib: u32,
    ) -> Result<Self, DomUError> {
        let range = |what, (min, max): (u64, u64), value: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(DomUError::Range {
                    what,
                    min,
                    max,
                    value,
                })
            }
        };
        range("memory (MiB)", MEMORY_MIB, u64::from(memory_mib))?;
        range("disk (GiB)", DISK_GIB, u64::from(disk_gib))?;
        range("vcpus", (1, 64), u64::from(vcpus))?;
        Ok(Self {
            name,
            address,
            memory_mib,
            vcpus,
            disk_gib,
        })
    }

    /// Its LV: `/dev/VG/NAME`.
    pub fn volume(&self, vg: &str) -> String {
        format!("/dev/{vg}/{}", self.name)
    }

    /// Its MAC: Xen's OUI 00:16:3e (the prefix xl itself draws from) and three bytes of its
    /// address, so a guest keeps its MAC wherever it runs and two guests of one subnet differ.
    pub fn mac(&self) -> MacAddr {
        let [_, b, c, d] = self.address.octets();
        MacAddr([0x00, 0x16, 0x3e, b & 0x7f, c, d])
    }
}

/// How a PV guest boots: the kernel and initramfs in Dom0 and the kernel's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvBoot {
    pub kernel: String,
    pub ramdisk: String,
    pub extra: String,
}

/// The `xl` configuration of `domu` on `bridge`, its disk on `vg`. PV; a crash or the
/// guest's watchdog restarts it, a power-off ends it.
pub fn xl_config(domu: &DomU, boot: &PvBoot, vg: &str, bridge: &str) -> Result<String, DomUError> {
    let quoted = |what: &'static str, value: &str| {
        if value.contains(['"', '\'', '\\', '\n', '\r']) {
            Err(DomUError::Unquotable {
                what,
                value: value.to_string(),
            })
        } else {
            Ok(format!("\"{value}\""))
        }
    };
    let disk = format!("phy:{},xvda,w", domu.volume(vg));
    let vif = format!("bridge={bridge},mac={}", domu.mac());
    Ok(format!(
        "# {name}: made by metal\n\
         name = {qname}\n\
         type = \"pv\"\n\
         kernel = {kernel}\n\
         ramdisk = {ramdisk}\n\
         extra = {extra}\n\
         memory = {memory}\n\
         maxmem = {memory}\n\
         vcpus = {vcpus}\n\
         disk = [ {disk} ]\n\
         vif = [ {vif} ]\n\
         on_poweroff = \"destroy\"\n\
         on_reboot = \"restart\"\n\
         on_crash = \"restart\"\n\
         on_watchdog = \"restart\"\n",
        name = domu.name,
        qname = quoted("name", domu.name.as_str())?,
        kernel = quoted("kernel", &boot.kernel)?,
        ramdisk = quoted("ramdisk", &boot.ramdisk)?,
        extra = quoted("extra", &boot.extra)?,
        memory = domu.memory_mib,
        vcpus = domu.vcpus,
        disk = quoted("disk", &disk)?,
        vif = quoted("vif", &vif)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> DomU {
        DomU::new(
            GuestName::new("web1").unwrap(),
            Ipv4Addr::new(10, 99, 0, 40),
            1024,
            1,
            20,
        )
        .unwrap()
    }

    fn boot() -> PvBoot {
        PvBoot {
            kernel: "/boot/vmlinuz".into(),
            ramdisk: "/boot/initrd.img".into(),
            extra: "console=hvc0 root=/dev/xvda ro".into(),
        }
    }

    #[test]
    fn a_pv_guest_on_its_volume_and_the_bridge() {
        let text = xl_config(&web(), &boot(), "vg00", "xenbr0").unwrap();
        assert_eq!(
            text,
            "# web1: made by metal\n\
             name = \"web1\"\n\
             type = \"pv\"\n\
             kernel = \"/boot/vmlinuz\"\n\
             ramdisk = \"/boot/initrd.img\"\n\
             extra = \"console=hvc0 root=/dev/xvda ro\"\n\
             memory = 1024\n\
             maxmem = 1024\n\
             vcpus = 1\n\
             disk = [ \"phy:/dev/vg00/web1,xvda,w\" ]\n\
             vif = [ \"bridge=xenbr0,mac=00:16:3e:63:00:28\" ]\n\
             on_poweroff = \"destroy\"\n\
             on_reboot = \"restart\"\n\
             on_crash = \"restart\"\n\
             on_watchdog = \"restart\"\n"
        );
    }

    #[test]
    fn nothing_passed_in_can_add_a_line() {
        for bad in ["x\"\non_crash = \"preserve", "a\\b", "it's"] {
            let mut b = boot();
            b.extra = bad.into();
            let e = xl_config(&web(), &b, "vg00", "xenbr0").unwrap_err();
            assert!(
                matches!(e, DomUError::Unquotable { what: "extra", .. }),
                "{e}"
            );
        }
        let e = xl_config(&web(), &boot(), "vg00", "br\"0").unwrap_err();
        assert!(
            matches!(e, DomUError::Unquotable { what: "vif", .. }),
            "{e}"
        );
    }

    #[test]
    fn names_and_sizes_are_checked() {
        for bad in ["", "-web", "web-", "Web", "web_1", "web.1", &"a".repeat(64)] {
            assert!(GuestName::new(bad).is_err(), "{bad:?}");
        }
        assert!(GuestName::new("db-2").is_ok());
        let name = GuestName::new("db").unwrap();
        let ip = Ipv4Addr::new(10, 0, 0, 5);
        let e = DomU::new(name.clone(), ip, 32, 1, 20).unwrap_err();
        assert_eq!(e.to_string(), "memory (MiB) must be 128 to 262144, not 32");
        assert!(DomU::new(name.clone(), ip, 1024, 1, 0).is_err());
        assert!(DomU::new(name, ip, 1024, 0, 20).is_err());
    }

    #[test]
    fn macs_follow_the_address() {
        let a = web();
        let mut b = web();
        b.address = Ipv4Addr::new(10, 99, 0, 41);
        assert_ne!(a.mac(), b.mac());
        assert_eq!(a.mac().0[..3], [0x00, 0x16, 0x3e]);
        assert_eq!(
            a.mac().0[3] & 0x80,
            0,
            "stays in Xen's half of the OUI's space"
        );
    }
}
