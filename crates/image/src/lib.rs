//! Boot images from Debian packages, built the same way every time and cached by their inputs.
//!
//! One build tree (debootstrap, `images/dom0/packages`) serves two images:
//! - **dom0**: the gunzipped Xen ELF (BIOS multiboot), `xen.efi` (UEFI), the Dom0 kernel, the boot
//!   initramfs (`images/initramfs/`: network, plan, root image into RAM or from `vg00/root`) and the
//!   Dom0 root as squashfs (the tree minus `images/dom0/exclude`, plus `metal-init`).
//! - **domu**: a DomU's root file system (`images/domu/`: its own, smaller tree) as an ext4
//!   image that `metal vm create` streams into the guest's new volume. The guest boots the
//!   kernel and the initramfs (`images/dom0/guest-*`) the Dom0 image carries.
//! - **installer**: the same kernel and a boot initramfs that also carries the installer
//!   (`images/installer/`: partitioning, md RAID, LVM, file systems, GRUB for BIOS and UEFI).
//! - **burnin**: a kernel and a boot initramfs that runs the in-band burn-in
//!   (`images/burnin/`: stress-ng, memtester, stressapptest, fio) and reports each component
//!   as a boot event; from its own tree, so the Dom0 carries none of it.
//!
//! Each build writes `<kind>.manifest.json` beside its files: package versions, the SHA-256 of
//! every file, and the inputs the cache key was made of. A build whose inputs are unchanged is
//! copied from the cache in seconds.

mod burnin;
mod cache;
mod dom0;
mod domu;
mod elf;
mod error;
mod initramfs;
mod installer;
mod manifest;
mod recipe;
mod tools;
mod tree;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::Error;
pub use manifest::{FileEntry, Listed, Manifest, Problem};
pub use recipe::Kind;

/// Where a build reads and writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cache of build trees and finished images, outside any checkout (`/var/cache/metal`).
    pub cache: PathBuf,
    /// Where the finished image's files and manifest go.
    pub out: PathBuf,
    /// The Debian mirror debootstrap reads.
    pub mirror: String,
    /// The Debian suite.
    pub suite: String,
    /// The `metal-agent` binary the Dom0 image carries (required for `dom0`).
    pub agent: Option<PathBuf>,
}

/// The Debian mirror and suite the recipes are written for.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
pub const DEFAULT_SUITE: &str = "bookworm";

/// A finished build.
#[derive(Debug)]
pub struct Built {
    pub manifest: Manifest,
    /// The manifest's path in the output folder.
    pub manifest_path: PathBuf,
    /// True when nothing was built: the inputs matched a cached image.
    pub cached: bool,
    pub took: Duration,
}

/// Builds `kind` (or takes it from the cache) and puts its files into `options.out`. `step`
/// hears one line per phase.
pub fn build(kind: Kind, options: &Options, step: &mut dyn FnMut(&str)) -> Result<Built, Error> {
    let start = Instant::now();
    let mut recipe = recipe::Recipe::new(&options.suite, &options.mirror);
    let agent = match (kind, &options.agent) {
        (Kind::Dom0, Some(path)) => {
            recipe.agent_sha256 = Some(manifest::digest(path)?.1);
            Some(path.clone())
        }
        (Kind::Dom0, None) => return Err(Error::NoAgent),
        _ => None,
    };
    let key = recipe.key(kind);
    let cached_dir = options
        .cache
        .join(format!("{}-{}", kind.name(), &key[..16]));
    let cached = cached_dir.join(kind.manifest_name()).exists();
    if !cached {
        tools::require_root()?;
        let tree = tree::ensure(&recipe, kind, &options.cache, step)?;
        cache::build_into(&cached_dir, |dir| {
            let mut manifest = match (kind, &agent) {
                (Kind::Dom0, Some(agent)) => dom0::build(&recipe, &tree, agent, dir, step)?,
                (Kind::Dom0, None) => return Err(Error::NoAgent),
                (Kind::Installer, _) => installer::build(&recipe, &tree, dir, step)?,
                (Kind::Domu, _) => domu::build(&recipe, &tree, dir, step)?,
                (Kind::Burnin, _) => burnin::build(&recipe, &tree, dir, step)?,
            };
            manifest.key = key.clone();
            manifest.build_seconds = start.elapsed().as_secs_f64();
            manifest::write(&manifest, &dir.join(kind.manifest_name()))
        })?;
    } else {
        step(&format!(
            "{}: inputs unchanged, from the cache",
            kind.name()
        ));
    }
    let manifest = manifest::read(&cached_dir.join(kind.manifest_name()))?;
    cache::publish(&cached_dir, &manifest, kind, &options.out)?;
    Ok(Built {
        manifest_path: options.out.join(kind.manifest_name()),
        manifest,
        cached,
        took: start.elapsed(),
    })
}

/// The images in `dir`: every `*.manifest.json`, checked against the files beside it.
pub fn list(dir: &Path) -> Result<Vec<Listed>, Error> {
    manifest::list(dir)
}
