//! The QEMU process of one board: its disks, its command line and the process itself.
//!
//! QEMU options (QEMU's system/invocation docs): `-no-reboot` turns every reset, the guest's or
//! QMP's `system_reset`, into an exit (the SHUTDOWN event says which); `bootindex` on a
//! device sets the firmware's boot order, lowest first, and devices without one come after;
//! `-nodefaults` leaves out the default NIC, serial and monitor so only what is listed here
//! exists; `-machine graphics=off` (what `-nographic` implies) tells SeaBIOS, through the
//! `etc/sercon-port` fw_cfg file, to mirror its console and option ROMs' (iPXE's) onto the
//! serial port, since there is no screen; `-chardev stdio,signal=off` keeps a Ctrl-C typed over SOL a keystroke instead of
//! a signal to QEMU.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;

use metal_types::{BootDevice, MacAddr};
use tokio::process::{Child, Command};

use super::{Firmware, QemuBoards};

/// The NIC's boot index when a disk boot falls through to the network.
const NIC_AFTER_DISKS: u32 = 50;

/// Where one board's files live.
pub(crate) struct VmFiles {
    pub disks: Vec<PathBuf>,
    pub monitor: PathBuf,
    pub log: PathBuf,
}

impl VmFiles {
    pub(crate) fn new(boards: &QemuBoards, ip: Ipv4Addr) -> Self {
        Self {
            disks: (0..boards.disks.count)
                .map(|i| boards.dir.join(format!("{ip}-disk{i}.img")))
                .collect(),
            monitor: boards.dir.join(format!("{ip}.qmp")),
            log: boards.dir.join(format!("{ip}.qemu.log")),
        }
    }

    /// Creates the folder and every missing disk image, sparse; images that exist keep their
    /// contents (a board keeps its disks across simulator runs) and get the configured size.
    pub(crate) fn prepare(&self, boards: &QemuBoards) -> Result<(), String> {
        std::fs::create_dir_all(&boards.dir)
            .map_err(|e| format!("cannot create {}: {e}", boards.dir.display()))?;
        for disk in &self.disks {
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(false)
                .open(disk)
                .and_then(|f| f.set_len(boards.disks.bytes))
                .map_err(|e| format!("cannot create disk image {}: {e}", disk.display()))?;
        }
        Ok(())
    }
}

/// The command that runs the board's VM booting from `device`.
pub(crate) fn command(
    boards: &QemuBoards,
    files: &VmFiles,
    name: &str,
    tap: &str,
    mac: MacAddr,
    device: BootDevice,
) -> Command {
    let mut cmd = match &boards.netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&boards.qemu);
            c
        }
        None => Command::new(&boards.qemu),
    };
    // Xen needs `-cpu max` under TCG (xen-in-qemu.md); one vCPU per VM keeps boards to a core.
    cmd.args([
        "-name",
        name,
        "-accel",
        "tcg,tb-size=256",
        "-cpu",
        "max",
        "-smp",
        "1",
    ])
    .arg("-m")
    .arg(boards.memory_mib.to_string())
    .args([
        "-machine",
        "graphics=off",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
    ])
    .args([
        "-chardev",
        "stdio,id=sol,signal=off",
        "-serial",
        "chardev:sol",
    ])
    .arg("-qmp")
    .arg(format!(
        "unix:{},server=on,wait=off",
        files.monitor.display()
    ))
    .arg("-netdev")
    .arg(format!("tap,id=n0,ifname={tap},script=no,downscript=no"));
    let nic_index = match device {
        BootDevice::Pxe => 0,
        BootDevice::Disk => NIC_AFTER_DISKS,
    };
    let mut nic = format!("virtio-net-pci,netdev=n0,mac={mac},bootindex={nic_index}");
    if boards.firmware == Firmware::Uefi {
        cmd.arg("-bios").arg(&boards.ovmf);
        // OVMF's own network stack boots the NIC; QEMU's iPXE ROM would replace it.
        nic.push_str(",romfile=");
    }
    cmd.arg("-device").arg(nic);
    for (i, disk) in files.disks.iter().enumerate() {
        let discard = if boards.disks.ssd {
            ",discard=unmap"
        } else {
            ""
        };
        cmd.arg("-drive").arg(format!(
            "file={},if=none,id=d{i},format=raw,cache=unsafe{discard}",
            disk.display()
        ));
        cmd.arg("-device")
            .arg(format!("virtio-blk-pci,drive=d{i},bootindex={}", i + 1));
    }
    cmd
}

/// Starts `cmd` with the serial port on its stdin/stdout and QEMU's own messages appended to
/// the board's log; the process is killed if its handle is dropped.
pub(crate) fn spawn(mut cmd: Command, files: &VmFiles) -> Result<Child, String> {
    let _ = std::fs::remove_file(&files.monitor);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.log)
        .map_err(|e| format!("cannot open {}: {e}", files.log.display()))?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start QEMU: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemu::Disks;

    fn args(cmd: &Command) -> Vec<String> {
        let std = cmd.as_std();
        std::iter::once(std.get_program())
            .chain(std.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn boot_order_follows_the_device_and_firmware_options_follow_the_kind() {
        let mut boards = QemuBoards::new("br0", "/var/tmp/b");
        boards.disks = "2x4G:ssd".parse::<Disks>().unwrap();
        boards.firmware = Firmware::Uefi;
        boards.netns = Some("lab".into());
        let ip = Ipv4Addr::new(127, 0, 10, 1);
        let files = VmFiles::new(&boards, ip);
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let pxe = args(&command(
            &boards,
            &files,
            "b1",
            "mq000a01",
            mac,
            BootDevice::Pxe,
        ));
        assert_eq!(pxe[..4], ["ip", "netns", "exec", "lab"]);
        let has = |a: &[String], s: &str| a.iter().any(|x| x == s);
        assert!(has(
            &pxe,
            "virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,bootindex=0,romfile="
        ));
        assert!(has(&pxe, "virtio-blk-pci,drive=d1,bootindex=2"));
        assert!(has(
            &pxe,
            "file=/var/tmp/b/127.0.10.1-disk1.img,if=none,id=d1,format=raw,cache=unsafe,discard=unmap"
        ));
        assert!(has(&pxe, "/usr/share/ovmf/OVMF.fd"));
        assert!(has(&pxe, "-no-reboot"));
        let disk = args(&command(
            &boards,
            &files,
            "b1",
            "mq000a01",
            mac,
            BootDevice::Disk,
        ));
        assert!(has(
            &disk,
            "virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,bootindex=50,romfile="
        ));

        boards.firmware = Firmware::Bios;
        boards.netns = None;
        boards.disks = "0".parse().unwrap();
        let files = VmFiles::new(&boards, ip);
        let bios = args(&command(&boards, &files, "b1", "t", mac, BootDevice::Pxe));
        assert_eq!(bios[0], "qemu-system-x86_64");
        assert!(
            !bios
                .iter()
                .any(|a| a.starts_with("virtio-blk") || a == "-bios")
        );
        assert!(has(
            &bios,
            "virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,bootindex=0"
        ));
    }

    #[test]
    fn disks_are_created_sparse_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut boards = QemuBoards::new("br0", dir.path().join("b"));
        boards.disks = "2x1G".parse().unwrap();
        let files = VmFiles::new(&boards, Ipv4Addr::new(127, 0, 10, 2));
        files.prepare(&boards).unwrap();
        std::fs::write(&files.disks[0], b"written").unwrap();
        files.prepare(&boards).unwrap();
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let mut first = [0u8; 7];
        let mut f = std::fs::File::open(&files.disks[0]).unwrap();
        f.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"written");
        assert_eq!(f.metadata().unwrap().len(), 1 << 30);
        let meta = std::fs::metadata(&files.disks[1]).unwrap();
        assert_eq!(meta.len(), 1 << 30);
        assert!(meta.blocks() * 512 < 1 << 20, "not sparse");
    }
}
