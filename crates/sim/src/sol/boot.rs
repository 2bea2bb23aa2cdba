//! What the simulated host prints on its serial console while it boots: a BIOS banner with
//! the board's inventory (the same maker, model, BIOS and CPU that WS-Man reports), a PXE
//! attempt (iPXE) or a disk boot (GRUB) as the boot record says, a Linux kernel log, and a
//! getty's `login:` prompt. The text is modelled on SeaBIOS/iPXE/GRUB/Linux 6.1 serial
//! output; nothing depends on the exact wording except the final `<host> login: ` line.

use std::net::Ipv4Addr;

use metal_types::{BootDevice, MacAddr};

use crate::identity::{BIOS_VERSION, BOARD_MODEL, CPU, SYSTEM_MAKER, SYSTEM_MODEL};

/// The kernel both boot paths end in.
pub(crate) const KERNEL: &str = "6.1.0-18-amd64";
/// `uname -v` of that kernel.
pub(crate) const KERNEL_BUILD: &str = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
/// The serial port AMT's SOL UART appears as.
const TTY: &str = "ttyS1";

/// What the boot output needs to know about the board.
#[derive(Debug, Clone)]
pub(crate) struct HostInfo {
    pub hostname: String,
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    pub uuid: String,
    pub memory_mib: u64,
    pub has_disk: bool,
}

impl HostInfo {
    /// The host's own address on the simulated provisioning network: the board's address
    /// moved into 10.0.0.0/8.
    fn host_ip(&self) -> (String, String) {
        let [_, b, c, d] = self.ip.octets();
        (format!("10.{b}.{c}.{d}"), format!("10.{b}.{c}.254"))
    }

    /// The kernel command line of a boot from `device` (what `cat /proc/cmdline` prints).
    pub(crate) fn cmdline(&self, device: BootDevice) -> String {
        match self.boot_path(device) {
            BootDevice::Pxe => {
                let mac = self.mac.to_string().replace(':', "-");
                format!(
                    "initrd=initrd.img ip=dhcp BOOTIF=01-{mac} console=tty0 console={TTY},115200n8"
                )
            }
            BootDevice::Disk => format!(
                "BOOT_IMAGE=/boot/vmlinuz-{KERNEL} root=UUID={} ro console=tty0 console={TTY},115200n8",
                self.uuid
            ),
        }
    }

    /// The path the firmware really takes: a disk boot on a board without a disk falls
    /// through to the network, as BIOS boot orders do.
    fn boot_path(&self, device: BootDevice) -> BootDevice {
        if device == BootDevice::Disk && !self.has_disk {
            BootDevice::Pxe
        } else {
            device
        }
    }

    /// The boot output as `(weight, text)` lines: the boot's total delay is shared out in
    /// proportion to the weights.
    pub(crate) fn script(&self, device: BootDevice) -> Vec<(u32, String)> {
        let mut s: Vec<(u32, String)> = vec![
            (
                1,
                format!("\r\n{SYSTEM_MAKER} {SYSTEM_MODEL}/{BOARD_MODEL}"),
            ),
            (1, format!("BIOS Version {BIOS_VERSION}")),
            (1, CPU.to_string()),
            (3, format!("Memory Test: {} MB OK", self.memory_mib)),
            (
                2,
                "Press <F2> to enter Setup, <F10> for the Boot Menu".into(),
            ),
        ];
        if device == BootDevice::Disk {
            s.push((2, "Booting from Hard Disk...".into()));
            if !self.has_disk {
                s.push((3, "No bootable device found.".into()));
            }
        }
        match self.boot_path(device) {
            BootDevice::Pxe => self.pxe(&mut s),
            BootDevice::Disk => {
                s.push((1, "GRUB loading.".into()));
                s.push((1, "Welcome to GRUB!".into()));
                s.push((4, "  Booting `Debian GNU/Linux'".into()));
                s.push((1, format!("Loading Linux {KERNEL} ...")));
                s.push((2, "Loading initial ramdisk ...".into()));
            }
        }
        self.kernel(&mut s, device);
        s.iter_mut().for_each(|(_, line)| line.push_str("\r\n"));
        s.push((2, self.login_banner()));
        s
    }

    fn pxe(&self, s: &mut Vec<(u32, String)>) {
        let (ip, server) = self.host_ip();
        let mac = self.mac;
        s.extend([
            (2, "Booting from PXE...".to_string()),
            (
                1,
                "iPXE 1.21.1+ -- Open Source Network Boot Firmware -- https://ipxe.org".into(),
            ),
            (
                1,
                "Features: DNS HTTP iSCSI TFTP AoE ELF MBOOT PXE bzImage Menu PXEXT".into(),
            ),
            (
                1,
                format!("net0: {mac} using i219 on 0000:00:1f.6 (Ethernet) [open]"),
            ),
            (1, "  [Link:up, TX:0 TXE:0 RX:0 RXE:0]".into()),
            (4, format!("Configuring (net0 {mac})...... ok")),
            (1, format!("net0: {ip}/255.255.255.0 gw {server}")),
            (1, format!("Next server: {server}")),
            (1, "Filename: boot.ipxe".into()),
            (2, format!("tftp://{server}/boot.ipxe... ok")),
            (3, format!("http://{server}/vmlinuz... ok")),
            (3, format!("http://{server}/initrd.img... ok")),
        ]);
    }

    fn kernel(&self, s: &mut Vec<(u32, String)>, device: BootDevice) {
        let cmdline = self.cmdline(device);
        let kb = self.memory_mib * 1024;
        let lines = [
            (
                0.0,
                format!(
                    "Linux version {KERNEL} (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) {KERNEL_BUILD}"
                ),
            ),
            (0.0, format!("Command line: {cmdline}")),
            (0.0, "BIOS-provided physical RAM map:".into()),
            (
                0.0,
                format!(
                    "DMI: {SYSTEM_MAKER} {SYSTEM_MODEL}/{BOARD_MODEL}, BIOS {BIOS_VERSION} 08/10/2020"
                ),
            ),
            (0.0, "tsc: Detected 2600.000 MHz processor".into()),
            (
                0.021,
                format!(
                    "Memory: {}K/{kb}K available (14336K kernel code, 2456K rwdata)",
                    kb - kb / 40
                ),
            ),
            (
                0.112,
                format!("smpboot: CPU0: {CPU} (family: 0x6, model: 0x9e, stepping: 0xd)"),
            ),
            (
                0.513,
                "Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled".into(),
            ),
            (
                0.514,
                format!("00:05: {TTY} at I/O 0x2f8 (irq = 3, base_baud = 115200) is a 16550A"),
            ),
            (
                1.204,
                format!(
                    "e1000e 0000:00:1f.6 eth0: (PCI Express:2.5GT/s:Width x1) {}",
                    self.mac
                ),
            ),
            (
                1.873,
                "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Quota mode: none."
                    .into(),
            ),
            (
                2.418,
                "systemd[1]: systemd 252.22-1~deb12u1 running in system mode".into(),
            ),
            (
                2.461,
                format!("systemd[1]: Hostname set to <{}>.", self.hostname),
            ),
        ];
        for (t, text) in lines {
            s.push((1, format!("[{t:>12.6}] {text}")));
        }
        s.push((
            3,
            "[  OK  ] Reached target multi-user.target - Multi-User System.".into(),
        ));
    }

    /// What a getty prints before the prompt (agetty's /etc/issue on Debian).
    pub(crate) fn login_banner(&self) -> String {
        format!(
            "\r\nDebian GNU/Linux 12 {host} {TTY}\r\n\r\n{host} login: ",
            host = self.hostname
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(has_disk: bool) -> HostInfo {
        HostInfo {
            hostname: "node-1".into(),
            ip: Ipv4Addr::new(127, 0, 10, 2),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            uuid: "u".into(),
            memory_mib: 8192,
            has_disk,
        }
    }

    #[test]
    fn disk_and_pxe_boots_end_at_login() {
        let text =
            |i: &HostInfo, d| -> String { i.script(d).into_iter().map(|(_, l)| l).collect() };
        let disk = text(&info(true), BootDevice::Disk);
        assert!(
            disk.contains("Booting from Hard Disk...\r\nGRUB loading."),
            "{disk}"
        );
        assert!(!disk.contains("iPXE"));
        assert!(disk.contains("[    0.000000] Linux version 6.1.0-18-amd64"));
        assert!(disk.ends_with("\r\nnode-1 login: "));
        let pxe = text(&info(true), BootDevice::Pxe);
        assert!(pxe.contains("Booting from PXE...\r\niPXE"));
        assert!(pxe.contains("net0: 10.0.10.2/255.255.255.0 gw 10.0.10.254"));
        // No disk: the disk attempt fails and the BIOS falls through to the network.
        let diskless = text(&info(false), BootDevice::Disk);
        assert!(diskless.contains("No bootable device found.\r\nBooting from PXE..."));
        assert!(diskless.contains("BOOTIF=01-02-00-00-00-00-01"));
    }
}
