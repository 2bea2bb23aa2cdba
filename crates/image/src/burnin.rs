//! The burn-in image: the tree's kernel with a boot initramfs that also holds `/burnin` and the
//! tools it runs (stress-ng, memtester, stressapptest, fio, with their libraries). `/init`
//! in mode `burnin` gets a lease and hands over to it.

use std::path::Path;

use crate::Error;
use crate::error::io;
use crate::initramfs::Stage;
use crate::manifest::{self, Manifest};
use crate::recipe::{self, Kind, Recipe};
use crate::tree::{self, Tree};

pub const INITRD: &str = "burnin-initrd.img";

pub fn build(
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Manifest, Error> {
    let kernel = tree.kernel();
    std::fs::copy(&kernel, dir.join(tree::KERNEL)).map_err(io(&kernel))?;
    step("burnin: initramfs with stress-ng, memtester, stressapptest and fio");
    let work = dir.join(".work");
    let stage = Stage::new(work.join("initramfs"), tree)?;
    stage.boot_scripts()?;
    stage.programs(&recipe::BURNIN_BINARIES)?;
    stage.file("burnin", recipe::BURNIN.text, 0o755)?;
    stage.pack(&dir.join(INITRD))?;
    std::fs::remove_dir_all(&work).map_err(io(&work))?;
    manifest::describe(Kind::Burnin, recipe, tree, dir, &tree::packages(tree)?)
}
