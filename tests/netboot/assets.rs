//! What the VMs boot, built once from Debian packages and cached under
//! `target/netboot-e2e/` between runs: Debian's cloud kernel (it has virtio-net as modules) and
//! an initramfs of `busybox-static` + those modules + `init.sh`. The TFTP root holds iPXE from
//! Debian's `ipxe` package.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The virtio-net modules of the cloud kernel, in load order (`init.sh` loads them so).
const MODULES: [&str; 8] = [
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko",
];

const INIT: &str = include_str!("init.sh");
const UDHCPC_SCRIPT: &str = include_str!("udhcpc.script");

/// Paths of the built artefacts.
pub struct Assets {
    /// `[http] root`: `vmlinuz`, `initrd.img`.
    pub images: PathBuf,
    /// `[tftp] root`: `undionly.kpxe`, `snponly.efi`, `ipxe.efi`.
    pub tftp: PathBuf,
    /// The repository's `pxe/` templates.
    pub templates: PathBuf,
}

/// Builds (or finds in the cache) everything, once per test process.
pub fn get() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(build)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn build() -> Assets {
    let cache = repo().join("target/netboot-e2e");
    let images = cache.join("images");
    let tftp = cache.join("tftp");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&tftp).unwrap();

    // iPXE from Debian's `ipxe` package; ipxe.efi is a symlink into /boot, hence the copy.
    for f in ["undionly.kpxe", "snponly.efi", "ipxe.efi"] {
        let from = Path::new("/usr/lib/ipxe").join(f);
        std::fs::copy(&from, tftp.join(f)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install Debian's ipxe: .ci/netboot-deps.sh)",
                from.display()
            )
        });
    }

    let depends = run(Command::new("apt-cache").args(["depends", "linux-image-cloud-amd64"]));
    let package = depends
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
        .map(|rest| format!("linux-image-{rest}"))
        .expect("apt-cache names the cloud kernel package (apt-get update first)");
    let stamp = format!("{package}\n{INIT}\n{UDHCPC_SCRIPT}");
    let stamp_file = cache.join("stamp");
    let have = std::fs::read_to_string(&stamp_file).unwrap_or_default();
    if have != stamp || !images.join("initrd.img").exists() || !images.join("vmlinuz").exists() {
        unpack_kernel_and_build_initrd(&cache, &package);
        std::fs::write(&stamp_file, stamp).unwrap();
    }
    Assets {
        images,
        tftp,
        templates: repo().join("pxe"),
    }
}

fn unpack_kernel_and_build_initrd(cache: &Path, package: &str) {
    let dl = cache.join("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).unwrap();
    run(Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(&dl));
    let deb = std::fs::read_dir(&dl)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("apt-get download left a .deb");
    let x = dl.join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let version = package.trim_start_matches("linux-image-");
    std::fs::copy(
        x.join(format!("boot/vmlinuz-{version}")),
        cache.join("images/vmlinuz"),
    )
    .unwrap();

    let stage = dl.join("initramfs");
    for d in ["bin", "proc", "sys", "dev", "lib/modules"] {
        std::fs::create_dir_all(stage.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", stage.join("bin/busybox"))
        .expect("/bin/busybox (Debian's busybox-static)");
    let modules = x.join(format!("lib/modules/{version}/kernel"));
    for m in MODULES {
        let name = Path::new(m).file_name().unwrap();
        std::fs::copy(modules.join(m), stage.join("lib/modules").join(name))
            .unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    write_executable(&stage.join("init"), INIT);
    write_executable(&stage.join("udhcpc.script"), UDHCPC_SCRIPT);
    let tmp = cache.join("images/initrd.img.tmp");
    run(Command::new("sh")
        .arg("-c")
        .arg("find . | cpio -o -H newc --quiet | gzip -1 > \"$0\"")
        .arg(&tmp)
        .current_dir(&stage));
    std::fs::rename(&tmp, cache.join("images/initrd.img")).unwrap();
    let _ = std::fs::remove_dir_all(&dl);
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
