//! A boot initramfs staged from the build tree: busybox, the programs a recipe lists with their
//! libraries, the kernel modules it lists with their dependencies, the scripts; then packed as
//! a gzip'd newc cpio archive (the format the kernel unpacks, with sorted names and fixed
//! inode numbers so that the same stage packs to the same bytes).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::io;
use crate::manifest::{self, Manifest};
use crate::recipe::{Kind, Recipe};
use crate::tree::{self, Tree};
use crate::{Error, elf, recipe, tools};

/// The names an image of a kernel and a boot initramfs gives its two files.
pub struct Names {
    pub kernel: &'static str,
    pub initrd: &'static str,
}

/// An image of the tree's kernel and a boot initramfs (`/init` and its programs) with what
/// `extras` adds, written as `names` in `dir` and described as `kind`: the installer and the
/// burn-in.
pub fn kernel_and_initramfs(
    kind: Kind,
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    names: Names,
    extras: impl FnOnce(&Stage) -> Result<(), Error>,
) -> Result<Manifest, Error> {
    let kernel = tree.kernel();
    std::fs::copy(&kernel, dir.join(names.kernel)).map_err(io(&kernel))?;
    let work = dir.join(".work");
    let stage = Stage::new(work.join("initramfs"), tree)?;
    stage.boot_scripts()?;
    extras(&stage)?;
    stage.pack(&dir.join(names.initrd))?;
    std::fs::remove_dir_all(&work).map_err(io(&work))?;
    manifest::describe(kind, recipe, tree, dir, &tree::packages(tree)?)
}

pub struct Stage<'t> {
    pub dir: PathBuf,
    tree: &'t Tree,
}

impl<'t> Stage<'t> {
    /// An empty merged-/usr layout in `dir` (which must not exist).
    pub fn new(dir: PathBuf, tree: &'t Tree) -> Result<Stage<'t>, Error> {
        for d in [
            "usr/bin",
            "usr/sbin",
            "usr/lib",
            "usr/lib64",
            "usr/lib/metal",
            "etc",
            "proc",
            "sys",
            "dev",
            "run",
            "tmp",
            "root",
        ] {
            let p = dir.join(d);
            std::fs::create_dir_all(&p).map_err(io(&p))?;
        }
        for (link, target) in [
            ("bin", "usr/bin"),
            ("sbin", "usr/sbin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            let p = dir.join(link);
            std::os::unix::fs::symlink(target, &p).map_err(io(&p))?;
        }
        Ok(Stage { dir, tree })
    }

    /// Writes `text` to `rel` with `mode`.
    pub fn file(&self, rel: &str, text: &str, mode: u32) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.join(rel);
        std::fs::write(&p, text).map_err(io(&p))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(io(&p))
    }

    /// Copies a program of the tree and every library it needs.
    pub fn program(&self, path: &str) -> Result<(), Error> {
        for rel in elf::closure(&self.tree.root, path)? {
            self.copy_from_tree(&rel)?;
        }
        Ok(())
    }

    /// Each program of a list file (see `images/*/binaries`).
    pub fn programs(&self, list: &recipe::File) -> Result<(), Error> {
        for p in recipe::lines(list.text) {
            self.program(p)?;
        }
        Ok(())
    }

    /// A file of the tree at the same path (a program's configuration).
    pub fn tree_file(&self, rel: &str) -> Result<(), Error> {
        self.copy_from_tree(Path::new(rel))
    }

    /// A folder of the tree, whole (GRUB's module folders).
    pub fn tree_dir(&self, rel: &str) -> Result<(), Error> {
        let to = self.dir.join(rel);
        let parent = to.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        tools::run(
            Command::new("cp")
                .arg("-a")
                .arg(self.tree.root.join(rel))
                .arg(&to),
        )?;
        Ok(())
    }

    /// The modules of a list (`images/initramfs/modules`) and what they depend on, at their paths under
    /// `/lib/modules/<version>`, with a fresh `modules.dep`; `/etc/modules-boot` lists them and
    /// their dependencies in load order for `/init`.
    pub fn modules(&self, list: &recipe::File) -> Result<(), Error> {
        let names: Vec<&str> = recipe::lines(list.text).collect();
        let version = &self.tree.kernel_version;
        let shown = tools::run(
            Command::new("modprobe")
                .arg("-d")
                .arg(&self.tree.root)
                .args(["-S", version, "--show-depends", "-a"])
                .args(&names),
        )?;
        // modprobe's order, soft dependencies included (ext4 needs crc32c, which only a
        // softdep names and busybox's modprobe ignores): /init loads exactly this list.
        let prefix = self.tree.root.to_string_lossy().into_owned();
        let mut order: Vec<String> = Vec::new();
        for line in shown.lines() {
            if let Some(path) = line.trim().strip_prefix("insmod ") {
                let path = path.trim();
                let rel = path.strip_prefix(prefix.as_str()).unwrap_or(path);
                self.copy_from_tree(Path::new(rel.trim_start_matches('/')))?;
                let name = Path::new(rel)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".ko"))
                    .unwrap_or_default()
                    .to_string();
                if !name.is_empty() && !order.contains(&name) {
                    order.push(name);
                }
            }
        }
        let from = self.tree.root.join("usr/lib/modules").join(version);
        let to = self.dir.join("usr/lib/modules").join(version);
        for f in [
            "modules.builtin",
            "modules.builtin.modinfo",
            "modules.order",
        ] {
            if from.join(f).exists() {
                std::fs::copy(from.join(f), to.join(f)).map_err(io(to.join(f)))?;
            }
        }
        tools::run(Command::new("depmod").arg("-b").arg(&self.dir).arg(version))?;
        self.file("etc/modules-boot", &(order.join("\n") + "\n"), 0o644)
    }

    /// The scripts every boot initramfs has: `/init`, `common.sh`, the DHCP hook.
    pub fn boot_scripts(&self) -> Result<(), Error> {
        self.program("/usr/bin/busybox")?;
        self.file("init", recipe::INIT.text, 0o755)?;
        self.file("usr/lib/metal/common.sh", recipe::COMMON.text, 0o644)?;
        self.file("usr/lib/metal/udhcpc.script", recipe::UDHCPC.text, 0o755)?;
        self.programs(&recipe::BINARIES)?;
        self.modules(&recipe::MODULES)
    }

    /// What a DomU's initramfs holds: busybox, `images/dom0/guest-init` as `/init`, and the
    /// modules of `images/dom0/guest-modules`.
    pub fn guest_scripts(&self) -> Result<(), Error> {
        self.program("/usr/bin/busybox")?;
        self.file("init", recipe::GUEST_INIT.text, 0o755)?;
        self.modules(&recipe::GUEST_MODULES)
    }

    /// Packs the stage into `out` (gzip'd newc cpio).
    pub fn pack(&self, out: &Path) -> Result<(), Error> {
        tools::run(
            Command::new("sh")
                .arg("-c")
                .arg(
                    "find . -mindepth 1 | LC_ALL=C sort | \
                     cpio -o -H newc --quiet --reproducible | gzip -6 -n > \"$0\"",
                )
                .arg(out)
                .current_dir(&self.dir),
        )?;
        Ok(())
    }

    fn copy_from_tree(&self, rel: &Path) -> Result<(), Error> {
        let real = elf::within(&self.tree.root, rel)?;
        let from = self.tree.root.join(&real);
        // Resolve the destination's folders through the stage's own (relative) links.
        let to = self.dir.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if to.exists() {
            return Ok(());
        }
        std::fs::copy(&from, &to).map_err(io(&from))?;
        Ok(())
    }
}
