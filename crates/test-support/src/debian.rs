//! A clean Debian 12 root for tests that install a package into one: `debootstrap
//! --variant=minbase --include=systemd` (the init every Debian 12 server runs, so units can be
//! checked against it) once, kept as a tar in `/var/cache/metal/debian-root/` under a name
//! made of its inputs (suite, variant, mirror), and unpacked fresh for each test.

use std::path::{Path, PathBuf};
use std::process::Command;

const SUITE: &str = "bookworm";
const VARIANT: &str = "minbase";
/// Packages besides the variant's.
const INCLUDE: &str = "systemd";

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cached tar of the root, built if missing.
fn cached() -> PathBuf {
    let mirror = metal_image::DEFAULT_MIRROR;
    let key: String = format!("{SUITE}-{VARIANT}-{INCLUDE}-{mirror}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = Path::new("/var/cache/metal/debian-root");
    let tar = dir.join(format!("{key}.tar"));
    if tar.is_file() {
        return tar;
    }
    std::fs::create_dir_all(dir).unwrap();
    let tree = tempfile::Builder::new()
        .prefix("root-")
        .tempdir_in(dir)
        .unwrap();
    run(
        Command::new("debootstrap")
            .args([
                &format!("--variant={VARIANT}"),
                &format!("--include={INCLUDE}"),
                SUITE,
            ])
            .arg(tree.path())
            .arg(mirror),
        "debootstrap",
    );
    // Published by rename: a half-written tar is never taken for the root.
    let part = dir.join(format!("{key}.tar.part-{}", std::process::id()));
    run(
        Command::new("tar")
            .arg("-C")
            .arg(tree.path())
            .args(["--numeric-owner", "-cf"])
            .arg(&part)
            .arg("."),
        "tar",
    );
    std::fs::rename(&part, &tar).unwrap();
    tar
}

/// A fresh Debian 12 root under `into` (an empty folder).
pub fn fresh_root(into: &Path) {
    let tar = cached();
    run(
        Command::new("tar")
            .arg("-C")
            .arg(into)
            .args(["--numeric-owner", "-xf"])
            .arg(&tar),
        "unpacking the Debian root",
    );
}
