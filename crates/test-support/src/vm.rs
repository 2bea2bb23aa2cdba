//! A test program run inside a QEMU VM with the Dom0 image's kernel, for what this machine's
//! own kernel cannot do (it has no device mapper, so no LVM).
//!
//! The VM boots the Dom0 kernel (`metal image build dom0`, cached under `/var/cache/metal`)
//! with the Dom0's boot initramfs and, appended to it, a small archive whose `/init` replaces
//! metal's: it mounts the Dom0 root (squashfs, the VM's first disk) to load the modules the
//! program needs with the Dom0's own `modprobe`, mounts this machine's root read-only over
//! virtio-9p, and runs the program there in a chroot with fresh `/dev`, `/proc`, `/sys`,
//! `/run` and a RAM `/tmp`. Its output goes to the serial console; its exit code ends the
//! console as `metal-vm-exit N`. Nothing the program does inside reaches this machine's disks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the VM tests keep their copy of the Dom0 image (apart from the netboot tests', which
/// publish theirs into `/var/cache/metal/e2e-images`).
const IMAGES: &str = "/var/cache/metal/vm-test-images";

/// `metal image build dom0` into [`IMAGES`], once per test process (a cold build takes minutes,
/// a cached one milliseconds).
pub fn dom0_images() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = PathBuf::from(IMAGES);
        // The image carries metal-agent: the one this workspace built, beside the test binary's
        // folder (target/debug/deps/..).
        let agent = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("metal-agent")))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!("no metal-agent in the target folder: cargo build --workspace first")
            });
        let options = metal_image::Options {
            cache: PathBuf::from("/var/cache/metal"),
            out: out.clone(),
            mirror: metal_image::DEFAULT_MIRROR.to_string(),
            suite: metal_image::DEFAULT_SUITE.to_string(),
            agent: Some(agent),
        };
        metal_image::build(metal_image::Kind::Dom0, &options, &mut |step| {
            eprintln!("image: {step}")
        })
        .unwrap_or_else(|e| panic!("building the Dom0 image for the VM: {e}"));
        out
    })
}

/// The `/init` of the appended archive. `@MODULES@`, `@PROGRAM@` and `@RUN@` are filled in
/// per run; the program runs from a copy in the VM's `/run`.
const INIT: &str = r#"#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in virtio_pci virtio_blk squashfs; do $B modprobe $m 2>/dev/null; done
$B mkdir -p /sq /host
n=0
until [ -b /dev/vda ] || [ $n -ge 100 ]; do $B sleep 0.1; n=$((n+1)); done
$B mount -t squashfs -o ro /dev/vda /sq || { echo "metal-vm: no Dom0 root on /dev/vda"; echo "metal-vm-exit 125"; $B poweroff -f; }
for d in proc sys dev; do $B mount --bind /$d /sq/$d; done
$B chroot /sq /sbin/modprobe -a 9p 9pnet_virtio @MODULES@ || { echo "metal-vm: modprobe failed"; echo "metal-vm-exit 125"; $B poweroff -f; }
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /host || { echo "metal-vm: no host root over 9p"; echo "metal-vm-exit 125"; $B poweroff -f; }
$B mount -t proc proc /host/proc
$B mount -t sysfs sys /host/sys
$B mount -t devtmpfs dev /host/dev
$B mount -t tmpfs run /host/run
$B mkdir -p /host/run/lock /host/run/metal-vm
# The program may live under /tmp, which the VM's own RAM /tmp is about to cover.
$B cp /host@PROGRAM@ /host/run/metal-vm/program || { echo "metal-vm: cannot copy @PROGRAM@"; echo "metal-vm-exit 125"; $B poweroff -f; }
$B mount -t tmpfs -o size=75% tmp /host/tmp
$B ip link set lo up 2>/dev/null || $B ifconfig lo 127.0.0.1 up
echo "metal-vm: running"
$B chroot /host /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp METAL_IN_VM=1 @RUN@ </dev/null
echo "metal-vm-exit $?"
$B sync
$B poweroff -f
"#;

/// What a program printed inside the VM and how it ended.
#[derive(Debug)]
pub struct Outcome {
    /// Its exit code (125: the VM could not set up).
    pub code: i32,
    /// The whole serial console: the kernel's messages, then the program's output.
    pub console: String,
}

/// A run of `program` with `args` inside a VM of `memory_mib` with `modules` (from the Dom0
/// image) loaded; `program` must be a path on this machine's root. Panics when the VM does not
/// start or does not finish within `timeout` (its console is in the message).
pub fn run(
    program: &Path,
    args: &[&str],
    modules: &[&str],
    memory_mib: u32,
    timeout: Duration,
) -> Outcome {
    let images = dom0_images();
    let work = tempfile::tempdir().expect("VM work folder");
    let program = program.display().to_string();
    assert!(
        program.starts_with('/')
            && !program.contains(char::is_whitespace)
            && !program.contains('\''),
        "the VM runs a program by an absolute path without spaces or quotes: {program}"
    );
    let run_line = std::iter::once("/run/metal-vm/program".to_string())
        .chain(args.iter().map(|a| shell_quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let init = INIT
        .replace("@MODULES@", &modules.join(" "))
        .replace("@PROGRAM@", &program)
        .replace("@RUN@", &run_line);
    let initrd = appended_initrd(&images.join("dom0-initrd.img"), &init, work.path());
    let console = work.path().join("console.log");
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args([
        "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2",
    ])
    .args(["-m", &memory_mib.to_string()])
    .args(["-nographic", "-no-reboot", "-nodefaults", "-net", "none"])
    .arg("-kernel")
    .arg(images.join("vmlinuz"))
    .arg("-initrd")
    .arg(&initrd)
    .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=1"])
    .arg("-drive")
    .arg(format!(
        "file={},if=virtio,format=raw,readonly=on",
        images.join("dom0-root.squashfs").display()
    ))
    .args([
        "-virtfs",
        "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    ])
    .arg("-serial")
    .arg(format!("file:{}", console.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = qemu
        .spawn()
        .expect("start qemu-system-x86_64 (Debian package qemu-system-x86)");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for qemu") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&console).unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "the VM did not finish within {} s; its console:\n{text}",
            timeout.as_secs()
        );
    };
    let code = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("metal-vm-exit "))
        .and_then(|c| c.trim().parse().ok());
    let Some(code) = code else {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        panic!("the VM ended ({status}) without an exit line; qemu said: {err}\nconsole:\n{text}");
    };
    Outcome {
        code,
        console: text,
    }
}

/// `base` with a newc archive holding `/init` appended (the kernel unpacks concatenated
/// archives in order, so this `/init` replaces the image's).
fn appended_initrd(base: &Path, init: &str, work: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let stage = work.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let init_path = stage.join("init");
    std::fs::write(&init_path, init).unwrap();
    std::fs::set_permissions(&init_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extra = work.join("extra.cpio");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo init | cpio -o -H newc --quiet > {}",
            extra.display()
        ))
        .current_dir(&stage)
        .output()
        .expect("run cpio (Debian package cpio)");
    assert!(
        out.status.success(),
        "cpio failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bytes = std::fs::read(base).expect("the Dom0 boot initramfs");
    // Each archive starts on a 4-byte boundary (Documentation/driver-api/early-userspace).
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
    bytes.extend(std::fs::read(&extra).unwrap());
    let initrd = work.join("initrd.img");
    std::fs::write(&initrd, bytes).unwrap();
    initrd
}

/// `s` as one word for the VM's shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
