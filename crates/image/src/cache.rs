//! Finished images in the cache, and copying them out. A build runs in `<dir>.partial` and is
//! renamed when complete; publishing writes each file beside its final name and renames it, so
//! a server reading the output folder never sees half a file.

use std::path::Path;

use crate::Error;
use crate::error::io;
use crate::manifest::Manifest;
use crate::recipe::Kind;

pub fn build_into(dir: &Path, build: impl FnOnce(&Path) -> Result<(), Error>) -> Result<(), Error> {
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    build(&partial)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::rename(&partial, dir).map_err(io(dir))
}

/// Puts the image's files and its manifest into `out` (hard links where the cache and `out`
/// share a file system, copies otherwise).
pub fn publish(cached: &Path, manifest: &Manifest, kind: Kind, out: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let names = manifest
        .files
        .iter()
        .map(|f| f.name.clone())
        .chain(std::iter::once(kind.manifest_name()));
    for name in names {
        let from = cached.join(&name);
        let to = out.join(&name);
        let tmp = out.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        if std::fs::hard_link(&from, &tmp).is_err() {
            std::fs::copy(&from, &tmp).map_err(io(&from))?;
        }
        std::fs::rename(&tmp, &to).map_err(io(&to))?;
    }
    Ok(())
}
