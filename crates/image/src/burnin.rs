//! The burn-in image: the tree's kernel with a boot initramfs that also holds `/burnin` and the
//! tools it runs (stress-ng, memtester, stressapptest, fio, with their libraries). `/init`
//! in mode `burnin` gets a lease and hands over to it.

use std::path::Path;

use crate::Error;
use crate::initramfs;
use crate::manifest::Manifest;
use crate::recipe::{self, Kind, Recipe};
use crate::tree::Tree;

pub const INITRD: &str = "burnin-initrd.img";

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    step("burnin: initramfs with stress-ng, memtester, stressapptest and fio");
    initramfs::kernel_and_initramfs(Kind::Burnin, recipe, tree, dir, INITRD, |stage| {
        stage.programs(&recipe::BURNIN_BINARIES)?;
        stage.file("burnin", recipe::BURNIN.text, 0o755)
    })
}
