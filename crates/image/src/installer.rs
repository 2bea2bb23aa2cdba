//! The installer: the Dom0 kernel with a boot initramfs that also holds `/install` and what it
//! runs (sgdisk, mke2fs, mkfs.fat, unsquashfs, GRUB for BIOS and UEFI with their modules).

use std::path::Path;

use crate::Error;
use crate::initramfs;
use crate::manifest::Manifest;
use crate::recipe::{self, Kind, Recipe};
use crate::tree::{self, Tree};

pub const INITRD: &str = "installer-initrd.img";

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    step("installer: initramfs with partitioning, RAID, LVM and GRUB");
    let names = initramfs::Names {
        kernel: tree::KERNEL,
        initrd: INITRD,
    };
    initramfs::kernel_and_initramfs(Kind::Installer, recipe, tree, dir, names, |stage| {
        stage.programs(&recipe::INSTALLER_BINARIES)?;
        // Without its configuration mke2fs knows no ext4 defaults.
        stage.tree_file("etc/mke2fs.conf")?;
        for grub in ["usr/lib/grub/i386-pc", "usr/lib/grub/x86_64-efi"] {
            stage.tree_dir(grub)?;
        }
        stage.file("install", recipe::INSTALL.text, 0o755)
    })
}
