//! `metal image build dom0|installer|domu|burnin [--out DIR] [--agent PATH]`, `metal image ls [--dir DIR]`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build an image from Debian packages (debootstrap; needs root and a Debian mirror), or
    /// take it from the cache ($METAL_CACHE, default /var/cache/metal) when its inputs are
    /// unchanged. dom0: xen.elf, xen.efi, vmlinuz, dom0-initrd.img, dom0-root.squashfs;
    /// installer: vmlinuz, installer-initrd.img; domu: domu-root.ext4 (a guest's root, what
    /// `metal vm create` writes into the new volume); burnin: burnin-vmlinuz, burnin-initrd.img (the
    /// in-band burn-in `metal verify --burnin` judges); each with <kind>.manifest.json.
    Build(ImageBuildArgs),
    /// The images in a folder, each checked against its manifest (exit 1 if any file is
    /// missing or changed).
    Ls(ImageLsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImageKind {
    Dom0,
    Installer,
    Domu,
    Burnin,
}

#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// Which image.
    pub kind: ImageKind,
    /// Folder for the image's files (default: <cache>/images); point `[http] root` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The Debian mirror debootstrap reads.
    #[arg(long, default_value = "http://deb.debian.org/debian")]
    pub mirror: String,
    /// The metal-agent binary the Dom0 image carries (default: the one beside metal).
    #[arg(long)]
    pub agent: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImageLsArgs {
    /// The folder to list (default: <cache>/images).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}
