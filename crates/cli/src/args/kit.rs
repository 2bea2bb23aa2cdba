//! `metal kit build|verify|unpack`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct KitArgs {
    #[command(subcommand)]
    pub command: KitCommand,
}

#[derive(Debug, Subcommand)]
pub enum KitCommand {
    /// Write one archive (an uncompressed tar) with this metal and the metal-agent beside it,
    /// the chosen hardware profiles, the iPXE programs and script templates, optionally the
    /// built images and the Debian package, the vendor guide (GUIDE.md), the systemd unit of
    /// `metal serve`, the example netboot configuration, and MANIFEST.json with the size and
    /// SHA-256 of every file.
    Build {
        /// A hardware profile the kit is for (repeat for several).
        #[arg(
            long = "profile",
            id = "kit_profile",
            value_name = "PROFILE",
            required = true
        )]
        profiles: Vec<String>,
        /// The archive to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The folder of the iPXE programs (undionly.kpxe, snponly.efi, ipxe.efi).
        #[arg(long, value_name = "DIR", default_value = "/usr/lib/ipxe")]
        ipxe: PathBuf,
        /// A folder of built images (`metal image build dom0 --out DIR`) to include, each
        /// checked against its manifest first. Without it the kit builds them with `metal image
        /// build`: the recipes are part of metal.
        #[arg(long, value_name = "DIR")]
        images: Option<PathBuf>,
        /// The Debian package of metal to include (`cargo deb -p metal-cli`).
        #[arg(long, value_name = "FILE")]
        deb: Option<PathBuf>,
    },
    /// Check an archive against its manifest: every file present, of the listed size and
    /// SHA-256, nothing else, no unsafe path. Names the first file that fails; exit 3.
    Verify {
        /// The kit archive.
        file: PathBuf,
    },
    /// Check an archive while writing its files under --into (created if missing, must be
    /// empty); a file is written only once its SHA-256 matches.
    Unpack {
        /// The kit archive.
        file: PathBuf,
        /// The folder to unpack into.
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
    },
}
