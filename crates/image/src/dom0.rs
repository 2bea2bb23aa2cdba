//! The Dom0 image: Xen (the gunzipped ELF that iPXE loads by multiboot, and `xen.efi`), the
//! kernel, the boot initramfs, and the root file system as squashfs.

use std::path::Path;
use std::process::Command;

use crate::error::io;
use crate::initramfs::Stage;
use crate::manifest::{self, Manifest};
use crate::recipe::{self, Kind, Recipe};
use crate::tree::{self, Tree};
use crate::{Error, tools};

pub const XEN_ELF: &str = "xen.elf";
pub const XEN_EFI: &str = "xen.efi";
pub const INITRD: &str = "dom0-initrd.img";
pub const ROOT: &str = "dom0-root.squashfs";

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    agent: &Path,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    step("dom0: Xen and the kernel");
    gunzip(
        &tree.root.join("boot/xen-4.17-amd64.gz"),
        &dir.join(XEN_ELF),
    )?;
    copy(
        &tree.root.join("boot/xen-4.17-amd64.efi"),
        &dir.join(XEN_EFI),
    )?;
    copy(&tree.kernel(), &dir.join(tree::KERNEL))?;

    step("dom0: boot initramfs");
    let work = dir.join(".work");
    let stage = Stage::new(work.join("initramfs"), tree)?;
    stage.boot_scripts()?;
    stage.pack(&dir.join(INITRD))?;

    step("dom0: the guests' initramfs");
    let guest = Stage::new(work.join("guest-initramfs"), tree)?;
    guest.guest_scripts()?;
    let guest_initrd = work.join("guest-initrd.img");
    guest.pack(&guest_initrd)?;

    step("dom0: root image (squashfs, zstd)");
    let binaries: [(&str, &Path, &str); 3] = [
        ("usr/sbin/metal-agent", agent, "755"),
        ("usr/lib/metal/guest/vmlinuz", &tree.kernel(), "644"),
        ("usr/lib/metal/guest/initrd.img", &guest_initrd, "644"),
    ];
    root_image(tree, &work, &binaries, &dir.join(ROOT))?;
    std::fs::remove_dir_all(&work).map_err(io(&work))?;

    manifest::describe(Kind::Dom0, recipe, tree, dir, &tree::packages(tree)?)
}

/// `mksquashfs` of the tree without `images/dom0/exclude`, with metal's files added as pseudo
/// files (squashfs-tools' `-pf`: `name f mode uid gid command`, the command's output being the
/// content): the recipe's texts, and `binaries` (the agent, the guests' kernel and initramfs)
/// from their paths. Files that replace the tree's are excluded first, as mksquashfs requires.
fn root_image(
    tree: &Tree,
    work: &Path,
    binaries: &[(&str, &Path, &str)],
    out: &Path,
) -> Result<(), Error> {
    let added: [(&str, &recipe::File, &str); 5] = [
        ("usr/sbin/metal-init", &recipe::DOM0_INIT, "755"),
        ("usr/lib/metal/common.sh", &recipe::COMMON, "644"),
        ("usr/lib/metal/udhcpc.script", &recipe::UDHCPC, "755"),
        ("etc/xen/xl.conf", &recipe::XL_CONF, "644"),
        ("etc/default/xendomains", &recipe::XENDOMAINS, "644"),
    ];
    let files = work.join("root-files");
    std::fs::create_dir_all(&files).map_err(io(&files))?;
    let mut pseudo = String::from("usr/lib/metal d 755 0 0\nusr/lib/metal/guest d 755 0 0\n");
    for (i, (name, file, mode)) in added.iter().enumerate() {
        let p = files.join(i.to_string());
        std::fs::write(&p, file.text).map_err(io(&p))?;
        pseudo.push_str(&format!("{name} f {mode} 0 0 cat {}\n", p.display()));
    }
    for (i, (name, from, mode)) in binaries.iter().enumerate() {
        // Copied into the work folder first: the pseudo file's command is split on spaces.
        let p = files.join(format!("bin{i}"));
        std::fs::copy(from, &p).map_err(io(*from))?;
        pseudo.push_str(&format!("{name} f {mode} 0 0 cat {}\n", p.display()));
    }
    let pseudo_path = work.join("pseudo");
    std::fs::write(&pseudo_path, pseudo).map_err(io(&pseudo_path))?;
    let exclude_path = work.join("exclude");
    let exclude: Vec<&str> = recipe::lines(recipe::DOM0_EXCLUDE.text).collect();
    std::fs::write(&exclude_path, exclude.join("\n") + "\n").map_err(io(&exclude_path))?;
    tools::run(
        Command::new("mksquashfs")
            .arg(&tree.root)
            .arg(out)
            .args(["-noappend", "-quiet", "-no-progress", "-comp", "zstd"])
            .args(["-wildcards", "-ef"])
            .arg(&exclude_path)
            .arg("-pf")
            .arg(&pseudo_path),
    )?;
    Ok(())
}

fn gunzip(from: &Path, to: &Path) -> Result<(), Error> {
    let file = std::fs::File::open(from).map_err(io(from))?;
    let mut decoder = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut out = std::fs::File::create(to).map_err(io(to))?;
    std::io::copy(&mut decoder, &mut out).map_err(io(from))?;
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::copy(from, to).map_err(io(from))?;
    Ok(())
}
