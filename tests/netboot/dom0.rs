//! Dom0 bring-up end to end: `metal image build` makes the images (cached under
//! /var/cache/metal by their inputs), `metal serve` serves them, and a VM boots real Xen 4.17
//! with a real Dom0 over the network.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::assets::run;
use crate::lab::{self, Firmware, Lab, Machine, SERVER, events, wait_for, wait_unless};

/// The Xen options every test VM needs under QEMU TCG (../shared/docs/xen-in-qemu.md): one
/// vCPU for Dom0, the console on the serial port, and `smap=0 xsave=0 bootscrub=0` (TCG's SMAP
/// and XSAVE emulation corrupts Dom0; scrubbing 1.5 GB takes minutes).
pub const XEN_TCG: &str =
    "dom0_max_vcpus=1 console=com1 com1=115200,8n1 smap=0 xsave=0 bootscrub=0";
pub const DOM0_CMDLINE: &str = "console=hvc0 earlyprintk=xen";

/// A Dom0 boot under emulation: Xen, the Dom0 kernel, the root image fetched into RAM.
pub const DOM0_BOOT: Duration = Duration::from_secs(400);

/// `metal image build KIND` into the shared output folder, once per test process.
pub fn images() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = PathBuf::from("/var/cache/metal/e2e-images");
        // The Dom0 image carries the metal-agent beside the metal under test.
        let agent = std::path::Path::new(env!("CARGO_BIN_EXE_metal")).with_file_name("metal-agent");
        assert!(
            agent.is_file(),
            "{} is missing: build the workspace (cargo build --workspace) first",
            agent.display()
        );
        for kind in ["dom0", "installer", "domu", "burnin"] {
            let shown = run(Command::new(env!("CARGO_BIN_EXE_metal"))
                .args(["image", "build", kind, "--agent"])
                .arg(&agent)
                .arg("--out")
                .arg(&out));
            eprintln!("{}", shown.lines().next().unwrap_or_default());
        }
        out
    })
}

/// A `metal serve` config serving the images, with the Dom0 profiles.
pub fn config(lab: &Lab, hosts: &str) -> String {
    let a = crate::assets::get();
    format!(
        "server_ip = \"{SERVER}\"\ninterface = \"br0\"\nmode = \"dhcp\"\ndefault_profile = \"dom0-diskless\"\n\
         [dhcp]\nsubnet = \"10.99.0.0/24\"\nrange = [\"10.99.0.100\", \"10.99.0.149\"]\n\
         router = \"{SERVER}\"\nlease_secs = 600\nlease_file = \"{leases}\"\n\n\
         [tftp]\nroot = \"{tftp}\"\n\n[http]\nlisten = \"{SERVER}:8080\"\nroot = \"{images}\"\ntemplates = \"{templates}\"\n\n\
         [dom0]\nssh_authorized_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1ldGFsLWUyZS10ZXN0LWtleS1ub3QtcmVhbA metal-e2e\"]\n\n\
         [profiles.dom0-diskless]\ntemplate = \"dom0.ipxe\"\nmode = \"diskless\"\nxen = \"xen.elf\"\nkernel = \"vmlinuz\"\n\
         initrd = \"dom0-initrd.img\"\nxen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\ncmdline = \"{DOM0_CMDLINE}\"\n\n\
         [profiles.dom0-diskless-guests]\ntemplate = \"dom0.ipxe\"\nmode = \"diskless\"\nguest_vg = true\nxen = \"xen.elf\"\nkernel = \"vmlinuz\"\n\
         initrd = \"dom0-initrd.img\"\nxen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\ncmdline = \"{DOM0_CMDLINE}\"\n\n\
         [profiles.install-raid10]\ntemplate = \"installer.ipxe\"\nmode = \"install\"\nstorage = \"raid10\"\nroot_gib = 2\n\
         kernel = \"vmlinuz\"\ninitrd = \"installer-initrd.img\"\ncmdline = \"console=ttyS0\"\ndom0_cmdline = \"{DOM0_CMDLINE}\"\n\
         xen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\n\n\
         [profiles.install-raid10-impatient]\ntemplate = \"installer.ipxe\"\nmode = \"install\"\nstorage = \"raid10\"\nroot_gib = 2\n\
         kernel = \"vmlinuz\"\ninitrd = \"installer-initrd.img\"\ncmdline = \"console=ttyS0 metal.fetch_deadline=15\"\n\
         xen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\n\n\
         [profiles.install-raid0]\ntemplate = \"installer.ipxe\"\nmode = \"install\"\nstorage = \"raid0\"\nroot_gib = 2\n\
         kernel = \"vmlinuz\"\ninitrd = \"installer-initrd.img\"\ncmdline = \"console=ttyS0\"\ndom0_cmdline = \"{DOM0_CMDLINE}\"\n\
         xen_cmdline = \"dom0_mem=512M,max:512M {XEN_TCG}\"\n\n{hosts}",
        leases = lab.dir.path().join("leases.json").display(),
        tftp = a.tftp.display(),
        images = images().display(),
        templates = a.templates.display(),
    )
}

/// A board that runs Xen under TCG (1 GiB, `-cpu max`) with `disks`, booting from `boot`
/// (`n` network, `c` disk).
fn xen_board(disks: Vec<PathBuf>, boot: &'static str) -> Machine {
    Machine {
        memory_mib: 1024,
        cpu: Some("max"),
        disks,
        boot,
    }
}

/// A sparse raw disk of `gib` GiB.
pub fn disk(lab: &Lab, name: &str, gib: u64) -> PathBuf {
    let path = lab.dir.path().join(name);
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(gib << 30).unwrap();
    path
}

/// Bytes of `path` that are not zero (a sparse file's holes read as zero).
pub fn nonzero_bytes(path: &Path) -> usize {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut count = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return count;
        }
        count += buf[..n].iter().filter(|b| **b != 0).count();
    }
}

pub const DISKLESS: &str = "52:54:00:d0:00:01";

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn g_diskless_board_runs_dom0_from_ram_and_reports_deployed() {
    lab::require_root();
    images();
    let mut lab = Lab::new("g");
    let hosts = format!(
        "[[hosts]]\nmac = \"{DISKLESS}\"\nprofile = \"dom0-diskless\"\nhostname = \"r01-h01\"\nip = \"10.99.0.31\"\n"
    );
    let server = lab.serve(&config(&lab, &hosts));
    lab.tap("tap0");
    let blank = disk(&lab, "blank.img", 1);
    let serial = lab.machine(
        "dom0",
        "tap0",
        DISKLESS,
        Firmware::Bios,
        &xen_board(vec![blank.clone()], "n"),
    );
    let took = wait_unless(&serial, "METAL-READY", "METAL-FAILED", DOM0_BOOT).unwrap();
    eprintln!("(g) diskless Dom0: VM start to Dom0 ready {took:.1?}");
    wait_for(
        &server,
        &format!("event mac={DISKLESS} stage=deployed"),
        Duration::from_secs(20),
    )
    .unwrap();
    let text = lab::read_lossy(&serial).replace('\r', "");
    assert!(
        text.contains("METAL-DOM0 capabilities=control_d"),
        "Dom0 is Xen's control domain"
    );
    assert!(
        text.contains("METAL-READY hostname=r01-h01"),
        "its inventory hostname"
    );
    assert!(
        text.contains("METAL-NET xenbr0 10.99.0.31/24"),
        "its reserved address on the bridge"
    );
    assert!(
        text.contains("dom0_mem=512M,max:512M"),
        "Xen was given the profile's Dom0 memory"
    );
    let deployed = events(&server, DISKLESS, "deployed");
    assert!(deployed[0].contains("Dom0 up from RAM"), "{deployed:?}");
    assert_eq!(
        events(&server, DISKLESS, "fetch").len(),
        1,
        "one root image fetch"
    );
    // Its one disk was never written: the Dom0 lives in RAM.
    assert_eq!(
        nonzero_bytes(&blank),
        0,
        "the diskless Dom0 wrote to its disk"
    );
}

pub const RAID10: &str = "52:54:00:d0:00:10";
pub const RAID0: &str = "52:54:00:d0:00:20";

/// What an installed board's serial shows once its Dom0 is up from disk.
fn booted_from_disk(serial: &Path) -> String {
    let took = wait_unless(serial, "METAL-READY", "METAL-FAILED", DOM0_BOOT).unwrap();
    let vm = serial.file_stem().unwrap_or_default().to_string_lossy();
    eprintln!("({vm}) VM start to Dom0 ready from disk {took:.1?}");
    let text = lab::read_lossy(serial).replace('\r', "");
    assert!(
        text.contains("metal initramfs: mode disk"),
        "booted metal's initramfs from disk"
    );
    assert!(
        text.contains("METAL-DOM0 capabilities=control_d"),
        "Dom0 is up"
    );
    text
}

/// The `METAL-MDSTAT` line of a serial log.
fn mdstat(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("METAL-MDSTAT"))
        .unwrap_or_else(|| panic!("no METAL-MDSTAT line"))
        .to_string()
}

/// Installs `mac` with profile `profile` over `disks` and returns the lab, the server log and
/// the disks, once the installer has reported `deployed` and the VM has restarted.
fn install(
    name: &str,
    mac: &str,
    profile: &str,
    firmware: Firmware,
    disks: usize,
) -> (Lab, PathBuf, Vec<PathBuf>) {
    lab::require_root();
    images();
    let mut lab = Lab::new(name);
    let hosts = format!(
        "[[hosts]]\nmac = \"{mac}\"\nprofile = \"{profile}\"\nhostname = \"r01-{name}\"\nip = \"10.99.0.4{}\"\n",
        disks
    );
    let server = lab.serve(&config(&lab, &hosts));
    lab.tap("tap0");
    let disks: Vec<PathBuf> = (0..disks)
        .map(|i| disk(&lab, &format!("disk{i}.img"), 3))
        .collect();
    let serial = lab.machine(
        "installer",
        "tap0",
        mac,
        firmware,
        &xen_board(disks.clone(), "n"),
    );
    let took = wait_unless(
        &serial,
        "METAL-INSTALLED",
        "METAL-INSTALL-FAILED",
        DOM0_BOOT,
    )
    .unwrap();
    eprintln!("({name}) {profile}: VM start to installed {took:.1?}");
    wait_for(
        &server,
        &format!("event mac={mac} stage=deployed"),
        Duration::from_secs(20),
    )
    .unwrap();
    lab.wait_exit("installer", Duration::from_secs(60)).unwrap();
    (lab, server, disks)
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn h_raid10_bios_board_installs_boots_xen_from_disk_and_survives_a_lost_disk() {
    let (mut lab, server, disks) = install("h", RAID10, "install-raid10", Firmware::Bios, 4);
    let steps: Vec<String> = ["start", "finish"]
        .iter()
        .flat_map(|s| events(&server, RAID10, s))
        .collect();
    for step in ["disks", "partition", "array", "lvm", "root", "bootloader"] {
        assert!(
            steps
                .iter()
                .any(|e| e.contains(&format!("install/{step}: SUCCESS"))),
            "step {step} finished: {steps:#?}"
        );
    }
    // Reboot from disk (no network boot): GRUB's Xen entry, the Dom0 from vg00/root.
    let serial = lab.machine(
        "disk-boot",
        "tap0",
        RAID10,
        Firmware::Bios,
        &xen_board(disks.clone(), "c"),
    );
    let text = booted_from_disk(&serial);
    let md = mdstat(&text);
    assert!(md.contains("raid10"), "{md}");
    for p in ["vda3", "vdb3", "vdc3", "vdd3"] {
        assert!(md.contains(p), "{p} in the array: {md}");
    }
    assert!(md.contains("[4/4]"), "all four members: {md}");
    assert!(
        text.contains("METAL-VGS vg00 1 1"),
        "vg00 with its root volume"
    );
    assert!(text.contains("METAL-READY hostname=r01-h"), "its hostname");
    lab.stop("disk-boot");

    // The first disk gone: the second disk's GRUB boots, the array starts degraded.
    let serial = lab.machine(
        "degraded",
        "tap0",
        RAID10,
        Firmware::Bios,
        &xen_board(disks[1..].to_vec(), "c"),
    );
    let text = booted_from_disk(&serial);
    let md = mdstat(&text);
    assert!(
        md.contains("raid10") && md.contains("[4/3]"),
        "degraded: {md}"
    );
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn i_raid0_uefi_board_installs_and_boots_xen_from_disk() {
    let (mut lab, _server, disks) = install("i", RAID0, "install-raid0", Firmware::Uefi, 2);
    let serial = lab.machine(
        "disk-boot",
        "tap0",
        RAID0,
        Firmware::Uefi,
        &xen_board(disks, "c"),
    );
    let text = booted_from_disk(&serial);
    let md = mdstat(&text);
    assert!(
        md.contains("raid0") && md.contains("vda3") && md.contains("vdb3"),
        "{md}"
    );
    assert!(
        text.contains("METAL-VGS vg00 1 1"),
        "vg00 with its root volume"
    );
}

pub const SHORT: &str = "52:54:00:d0:00:31";
pub const SMALL: &str = "52:54:00:d0:00:32";

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn j_a_missing_disk_and_a_too_small_disk_end_failed_with_the_cause() {
    lab::require_root();
    images();
    let mut lab = Lab::new("j");
    let hosts = format!(
        "[[hosts]]\nmac = \"{SHORT}\"\nprofile = \"install-raid10\"\nip = \"10.99.0.51\"\n\n\
         [[hosts]]\nmac = \"{SMALL}\"\nprofile = \"install-raid10\"\nip = \"10.99.0.52\"\n"
    );
    let server = lab.serve(&config(&lab, &hosts));
    let mut serials = Vec::new();
    for (i, (mac, disks, gib)) in [(SHORT, 3, 3), (SMALL, 4, 1)].into_iter().enumerate() {
        let tap = format!("tap{i}");
        lab.tap(&tap);
        let disks: Vec<PathBuf> = (0..disks)
            .map(|d| disk(&lab, &format!("j{i}-{d}.img"), gib))
            .collect();
        serials.push(lab.machine(
            &format!("installer{i}"),
            &tap,
            mac,
            Firmware::Bios,
            &xen_board(disks, "n"),
        ));
    }
    for (serial, mac, cause) in [
        (&serials[0], SHORT, "layout raid10 needs 4 disks, found 3"),
        (&serials[1], SMALL, "disks too small"),
    ] {
        wait_for(serial, "METAL-INSTALL-FAILED", DOM0_BOOT).unwrap();
        wait_for(
            &server,
            &format!("event mac={mac} stage=failed"),
            Duration::from_secs(20),
        )
        .unwrap();
        let failed = events(&server, mac, "failed");
        assert!(failed[0].contains(cause), "{failed:?}");
        assert!(
            failed[0].contains("install/disks"),
            "names the step: {failed:?}"
        );
        assert!(
            events(&server, mac, "deployed").is_empty(),
            "never deployed"
        );
        let finish = events(&server, mac, "finish");
        assert!(
            finish.iter().any(|e| e.contains("install/disks: FAIL")),
            "{finish:?}"
        );
    }
}

pub const DROPPED: &str = "52:54:00:d0:00:41";

/// Everything to and from the VM's tap dropped (nftables on its netdev hooks).
const CUT: &str = r#"
table netdev cut {
  chain from_vm { type filter hook ingress device "tap0" priority 0; counter drop; }
  chain to_vm { type filter hook egress device "tap0" priority 0; counter drop; }
}
"#;

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn k_the_network_dropped_during_the_image_write_ends_failed_once_it_returns() {
    lab::require_root();
    images();
    let mut lab = Lab::new("k");
    let hosts = format!(
        "[[hosts]]\nmac = \"{DROPPED}\"\nprofile = \"install-raid10-impatient\"\nip = \"10.99.0.61\"\n"
    );
    let server = lab.serve(&config(&lab, &hosts));
    lab.tap("tap0");
    let disks: Vec<PathBuf> = (0..4)
        .map(|d| disk(&lab, &format!("k{d}.img"), 3))
        .collect();
    let serial = lab.machine(
        "installer",
        "tap0",
        DROPPED,
        Firmware::Bios,
        &xen_board(disks, "n"),
    );
    // The cable is pulled as the root image starts to come, and put back only once the
    // installer has given up (three tries of at most 15 s each, `metal.fetch_deadline`): its
    // `failed` then reaches the server through its retries.
    wait_for(&serial, "== install/root", DOM0_BOOT).unwrap();
    let rules = lab.dir.path().join("cut.nft");
    std::fs::write(&rules, CUT).unwrap();
    run(lab.exec("nft").arg("-f").arg(&rules));
    wait_for(&serial, "METAL-INSTALL-FAILED", Duration::from_secs(150)).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    run(lab.exec("nft").args(["delete", "table", "netdev", "cut"]));
    wait_for(
        &server,
        &format!("event mac={DROPPED} stage=failed"),
        Duration::from_secs(120),
    )
    .unwrap();
    let failed = events(&server, DROPPED, "failed");
    assert!(
        failed[0].contains("install/root") && failed[0].contains("download or checksum failed"),
        "{failed:?}"
    );
    assert!(
        events(&server, DROPPED, "deployed").is_empty(),
        "never deployed"
    );
}
