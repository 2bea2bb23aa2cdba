//! The vendor kit through the binary: `metal kit build` writes an archive that `metal kit
//! verify` accepts and refuses once one byte of it is flipped, naming the file; the Debian
//! package inside it installs with `dpkg -i` in a clean Debian 12 root, where `metal
//! --version` runs and `systemd-analyze verify` accepts its unit; and the unpacked kit alone,
//! in a fresh network namespace, runs the simulator, `metal serve` and `metal verify`.
//! Root only (chroot, network namespaces), like the other system tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use metal_test_support::debian::fresh_root;
use metal_test_support::process::Running;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PROFILE: &str = "desktop-8g-raid10";

fn metal(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn build_kit(dir: &Path, deb: Option<&Path>) -> PathBuf {
    let kit = dir.join("metal-kit.tar");
    let mut args = vec![
        "kit".to_string(),
        "build".into(),
        "--profile".into(),
        PROFILE.into(),
        "--out".into(),
        kit.display().to_string(),
    ];
    if let Some(deb) = deb {
        args.extend(["--deb".into(), deb.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = metal(&args);
    assert_eq!(code, 0, "{out}{err}");
    kit
}

/// Offset of `path`'s data in the tar (headers are 512 bytes; sizes are octal).
fn data_offset(tar: &[u8], path: &str) -> (usize, usize) {
    let mut at = 0;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = std::str::from_utf8(&header[..name_end]).unwrap();
        let size_text = std::str::from_utf8(&header[124..136]).unwrap();
        let size =
            usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap_or(0);
        if name == path {
            return (at + 512, size);
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{path} is not in the kit");
}

fn flipped_copy(kit: &Path, path: &str, into: &Path) -> PathBuf {
    let mut data = std::fs::read(kit).unwrap();
    let (offset, size) = data_offset(&data, path);
    data[offset + size / 2] ^= 0x01;
    let out = into.join(format!("flipped-{}.tar", path.replace('/', "_")));
    std::fs::write(&out, data).unwrap();
    out
}

#[test]
fn one_flipped_byte_makes_kit_verify_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let kit = build_kit(dir.path(), None);
    let (code, out, err) = metal(&["kit", "verify", kit.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("for {PROFILE}")), "{out}");
    for file in [
        format!("hardware-profiles/{PROFILE}.toml"),
        "bin/metal".to_string(),
        "share/ipxe/undionly.kpxe".to_string(),
    ] {
        let bad = flipped_copy(&kit, &file, dir.path());
        let (code, out, err) = metal(&["kit", "verify", bad.to_str().unwrap()]);
        assert_eq!(code, 3, "{file}: {out}{err}");
        assert!(err.contains(&format!("{file}: SHA-256")), "{file}: {err}");
        let into = dir
            .path()
            .join(format!("unpacked-{}", file.replace('/', "_")));
        let (code, _, err) = metal(&[
            "kit",
            "unpack",
            bad.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
        ]);
        assert_eq!(code, 3, "{err}");
        assert!(
            !into.join(&file).exists(),
            "a file that failed its digest is never written"
        );
    }
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}: {text}");
    text
}

#[test]
fn the_kits_debian_package_installs_in_a_clean_debian_root() {
    let dir = tempfile::tempdir().unwrap();
    // The package of this build (`cargo deb` without building: the test target built it).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let debs = dir.path().join("debs");
    std::fs::create_dir(&debs).unwrap();
    let target = Path::new(BIN).parent().unwrap().parent().unwrap();
    run_ok(
        Command::new(env!("CARGO"))
            .current_dir(&workspace)
            .env("CARGO_TARGET_DIR", target)
            .args([
                "deb",
                "-p",
                "metal-cli",
                "--profile",
                "dev",
                "--no-build",
                "--no-strip",
                "-o",
            ])
            .arg(&debs),
        "cargo deb (.ci/kit-deps.sh installs cargo-deb)",
    );
    let deb = std::fs::read_dir(&debs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let kit = build_kit(dir.path(), Some(&deb));
    let unpacked = dir.path().join("kit");
    let (code, out, err) = metal(&[
        "kit",
        "unpack",
        kit.to_str().unwrap(),
        "--into",
        unpacked.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let shipped = unpacked.join("deb").join(deb.file_name().unwrap());
    assert!(shipped.is_file());

    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    fresh_root(&root);
    std::fs::copy(&shipped, root.join("tmp/metal.deb")).unwrap();
    run_ok(
        Command::new("chroot")
            .arg(&root)
            .args(["dpkg", "-i", "/tmp/metal.deb"]),
        "dpkg -i",
    );
    let status = run_ok(
        Command::new("chroot")
            .arg(&root)
            .args(["dpkg", "-s", "metal"]),
        "dpkg -s",
    );
    assert!(status.contains("Status: install ok installed"), "{status}");
    let version = run_ok(
        Command::new("chroot")
            .arg(&root)
            .args(["metal", "--version"]),
        "metal --version",
    );
    assert!(
        version.starts_with(&format!("metal {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let profiles = std::fs::read_dir(root.join("usr/share/metal/hardware-profiles"))
        .unwrap()
        .count();
    assert_eq!(profiles, 3);
    let unit = "/lib/systemd/system/metal-serve.service";
    assert!(root.join(unit.trim_start_matches('/')).is_file());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {text}");
    assert!(
        !text.contains("metal-serve.service:"),
        "no complaint about the unit: {text}"
    );
}

/// A network namespace with only its loopback, removed when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("mkit-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run_ok(
            Command::new("ip").args(["netns", "add", &name]),
            "ip netns add",
        );
        run_ok(
            Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]),
            "lo up",
        );
        Netns(name)
    }

    /// `program` inside the namespace, with nothing from this environment but PATH.
    fn command(&self, program: &Path, home: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0])
            .arg(program)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", home);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn the_unpacked_kit_alone_serves_and_verifies_in_a_fresh_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let kit = build_kit(dir.path(), None);
    let k = dir.path().join("kit");
    std::fs::create_dir(&k).unwrap();
    run_ok(
        Command::new("tar").arg("-C").arg(&k).arg("-xf").arg(&kit),
        "tar -xf",
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let ns = Netns::new();
    let metal = k.join("bin/metal");
    let password = "K1t!password";

    let mut sim = ns.command(&metal, &home);
    sim.args([
        "sim",
        "--boards",
        "3",
        "--hardware",
        "8g-4hdd",
        "--first-ip",
        "127.0.0.11",
        "--password",
        password,
        "--transition-ms",
        "200",
        "--boot-output-ms",
        "300",
    ]);
    let sim = Running::spawn(sim, "the kit's metal sim");
    sim.wait_for(|l| l.starts_with("ready 3 boards"));

    let tftp = k.join("share/ipxe");
    // The operator's own folder for built images (empty: this test boots nothing).
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    let config = dir.path().join("netboot.toml");
    std::fs::write(
        &config,
        format!(
            "server_ip = \"127.0.0.1\"\nmode = \"proxy\"\ndefault_profile = \"dom0-diskless\"\nports = {{ dhcp = 0, pxe = 0 }}\n\
             [tftp]\nroot = \"{}\"\nlisten = \"127.0.0.1:69\"\n[http]\nlisten = \"127.0.0.1:8080\"\nroot = \"{}\"\ntemplates = \"{}\"\n\
             [profiles.dom0-diskless]\ntemplate = \"linux.ipxe\"\nkernel = \"dom0/vmlinuz\"\ninitrd = \"dom0/initrd.img\"\ncmdline = \"console=ttyS0\"\n",
            tftp.display(),
            images.display(),
            k.join("share/pxe").display()
        ),
    )
    .unwrap();
    let mut serve = ns.command(&metal, &home);
    serve.arg("serve").arg("--config").arg(&config);
    let serve = Running::spawn(serve, "the kit's metal serve");
    serve.wait_for(|l| l.starts_with("ready"));

    // The iPXE program over TFTP and HTTP, byte for byte, and a rendered script.
    let shipped = std::fs::read(tftp.join("undionly.kpxe")).unwrap();
    for url in [
        "tftp://127.0.0.1/undionly.kpxe",
        "http://127.0.0.1:8080/tftp/undionly.kpxe",
    ] {
        let out = ns
            .command(Path::new("/usr/bin/curl"), &home)
            .args(["-sf", "--max-time", "10", url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, shipped, "{url}");
    }
    let out = ns
        .command(Path::new("/usr/bin/curl"), &home)
        .args([
            "-sf",
            "--max-time",
            "10",
            "http://127.0.0.1:8080/boot/52-54-00-12-34-56.ipxe",
        ])
        .output()
        .unwrap();
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && script.starts_with("#!ipxe") && script.contains("dom0/vmlinuz"),
        "{script}"
    );

    // The kit's verify against its own profiles.
    let reports = dir.path().join("reports");
    let out = ns
        .command(&metal, &home)
        .env("METAL_AMT_PASSWORD", password)
        .args([
            "verify",
            "127.0.0.11,127.0.0.12,127.0.0.13",
            "--profile",
            PROFILE,
            "--profiles",
        ])
        .arg(k.join("hardware-profiles"))
        .arg("--report")
        .arg(&reports)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("PASS 127.0.0.1"))
            .count(),
        3,
        "{text}"
    );
    assert!(reports.join("index.html").is_file());
}
