//! The burn-in image: the tree's kernel with a boot initramfs that also holds `/burnin` and the
//! tools it runs (stress-ng, memtester, stressapptest, fio, with their libraries). `/init`
//! in mode `burnin` gets a lease and hands over to it.

use std::path::Path;

use crate::Error;
use crate::initramfs;
use crate::manifest::Manifest;
use crate::recipe::{self, Kind, Recipe};
use crate::tree::Tree;

/// The burn-in's kernel comes from its own tree, so it has its own name: in a folder shared
/// with the Dom0 image it must not replace the Dom0's `vmlinuz`.
pub const KERNEL: &str = "burnin-vmlinuz";
pub const INITRD: &str = "burnin-initrd.img";

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    step("burnin: initramfs with stress-ng, memtester, stressapptest and fio");
    let names = initramfs::Names {
        kernel: KERNEL,
        initrd: INITRD,
    };
    initramfs::kernel_and_initramfs(Kind::Burnin, recipe, tree, dir, names, |stage| {
        stage.programs(&recipe::BURNIN_BINARIES)?;
        stage.file("burnin", recipe::BURNIN.text, 0o755)
    })
}
