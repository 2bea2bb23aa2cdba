//! `metal image build dom0|installer|domu` and `metal image ls`: the boot images, built by
//! `metal_image` into a cache outside any checkout and published into an output folder that
//! `metal serve` can serve (`[http] root`).

use std::path::{Path, PathBuf};

pub use metal_image::{Built, Kind, Listed, Manifest, Problem};

use crate::Error;

/// Where build trees and finished images are cached: `$METAL_CACHE`, else `/var/cache/metal`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("METAL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/metal"))
}

/// Where a build puts its files when no `--out` is given: `<cache>/images`.
pub fn default_out() -> PathBuf {
    cache_dir().join("images")
}

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub kind: Kind,
    pub out: Option<PathBuf>,
    pub mirror: Option<String>,
    /// The `metal-agent` the Dom0 image carries; default: the one installed beside this
    /// program ([`default_agent`]).
    pub agent: Option<PathBuf>,
}

/// `metal-agent` beside the running program (where `cargo build` and the package put it).
pub fn default_agent() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let agent = exe.parent()?.join("metal-agent");
    agent.is_file().then_some(agent)
}

/// Builds (or takes from the cache) one image; `step` hears each phase. Runs on a blocking
/// thread: a cold build is minutes of debootstrap and compression.
pub async fn build(
    request: BuildRequest,
    step: impl FnMut(&str) + Send + 'static,
) -> Result<Built, Error> {
    let options = metal_image::Options {
        cache: cache_dir(),
        out: request.out.unwrap_or_else(default_out),
        mirror: request
            .mirror
            .unwrap_or_else(|| metal_image::DEFAULT_MIRROR.to_string()),
        suite: metal_image::DEFAULT_SUITE.to_string(),
        agent: request.agent.or_else(default_agent),
    };
    let mut step = step;
    tokio::task::spawn_blocking(move || metal_image::build(request.kind, &options, &mut step))
        .await
        .map_err(|e| Error::Usage(format!("the image build stopped: {e}")))?
        .map_err(Error::from)
}

/// The images in `dir` (default: [`default_out`]), each checked against its manifest.
pub fn ls(dir: Option<&Path>) -> Result<Vec<Listed>, Error> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_out);
    Ok(metal_image::list(&dir)?)
}
