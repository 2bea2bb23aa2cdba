//! The DomU image: a guest's root file system as an ext4 image (`domu-root.ext4`), made from
//! its own debootstrap tree (`images/domu/packages`) minus `images/domu/remove`, with
//! systemd-networkd enabled, `images/domu/metal-guest-up.service` (the guest's name and
//! addresses on its console once its network is up), systemd feeding Xen's watchdog
//! (`images/domu/watchdog.conf`) and no machine id (each guest makes its own at first boot).
//! `mke2fs -d` writes the image from a folder without mounting anything; it is sized to the
//! tree plus room to boot, and `metal-agent` grows it to the guest's volume at create.

use std::path::Path;
use std::process::Command;

use crate::error::io;
use crate::manifest::{self, Manifest};
use crate::recipe::{self, Kind, Recipe};
use crate::tree::{self, Tree};
use crate::{Error, tools};

pub const ROOT: &str = "domu-root.ext4";

/// Free room in the image beyond the tree, before the agent grows it.
const SLACK_BYTES: u64 = 128 << 20;

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    let work = dir.join(".work");
    let root = work.join("root");
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    step("domu: the guest root");
    tools::run(Command::new("cp").arg("-a").arg(&tree.root).arg(&root))?;
    for rel in recipe::lines(recipe::DOMU_REMOVE.text) {
        let p = root.join(rel);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
        } else if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let machine_id = root.join("etc/machine-id");
    std::fs::write(&machine_id, "").map_err(io(&machine_id))?;
    let _ = std::fs::remove_file(root.join("var/lib/dbus/machine-id"));
    std::fs::remove_file(root.join("etc/metal-tree")).map_err(io(root.join("etc/metal-tree")))?;
    let fstab = root.join("etc/fstab");
    std::fs::write(&fstab, "/dev/xvda / ext4 rw,errors=remount-ro 0 1\n").map_err(io(&fstab))?;
    let unit = root.join("etc/systemd/system/metal-guest-up.service");
    std::fs::write(&unit, recipe::DOMU_UP.text).map_err(io(&unit))?;
    let conf_dir = root.join("etc/systemd/system.conf.d");
    std::fs::create_dir_all(&conf_dir).map_err(io(&conf_dir))?;
    let watchdog = conf_dir.join("metal-watchdog.conf");
    std::fs::write(&watchdog, recipe::DOMU_WATCHDOG.text).map_err(io(&watchdog))?;
    tools::run(Command::new("chroot").arg(&root).args([
        "/bin/systemctl",
        "enable",
        "systemd-networkd.service",
        "systemd-networkd-wait-online.service",
        "metal-guest-up.service",
    ]))?;

    step("domu: root image (ext4)");
    let used: u64 = tools::run(Command::new("du").args(["-sb"]).arg(&root))?
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::Tree {
            path: root.clone(),
            reason: "du gave no size".into(),
        })?;
    // ext4's metadata and a margin, rounded up to 4 MiB.
    let size = (used + used / 4 + SLACK_BYTES).div_ceil(4 << 20) * (4 << 20);
    tools::run(
        Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-L", "metal-guest", "-d"])
            .arg(&root)
            .arg(dir.join(ROOT))
            .arg(format!("{}k", size >> 10)),
    )?;
    std::fs::remove_dir_all(&work).map_err(io(&work))?;
    manifest::describe(Kind::Domu, recipe, tree, dir, &tree::packages(tree)?)
}
