//! Building a kit: the manifest first, then every file in the order given, with fixed owner,
//! modes and times, so the same inputs give the same archive.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, FileEntry, MANIFEST, Manifest, safe_path};

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// One file to put in the kit.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its path inside the kit.
    pub path: String,
    pub source: Source,
    pub executable: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// SHA-256 and size of a source.
fn digest(source: &Source) -> Result<(u64, String), Error> {
    let mut hasher = Sha256::new();
    let bytes = match source {
        Source::Bytes(b) => {
            hasher.update(b);
            b.len() as u64
        }
        Source::Path(p) => {
            let mut f = File::open(p).map_err(io(p))?;
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0u64;
            loop {
                let n = f.read(&mut buf).map_err(io(p))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            total
        }
    };
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn header(path: &str, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    // The path is checked by the caller; ustar splits long names into prefix and name.
    let _ = h.set_path(path);
    h.set_cksum();
    h
}

/// Writes the kit to `out` (through a temporary file renamed at the end) and returns its
/// manifest. Paths must be safe and distinct.
pub fn build(
    out: &Path,
    version: &str,
    profiles: &[String],
    entries: &[Entry],
) -> Result<Manifest, Error> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        safe_path(&e.path)?;
        if e.path == MANIFEST || !seen.insert(e.path.clone()) {
            return Err(Error::UnsafePath {
                path: e.path.clone(),
                why: "given twice",
            });
        }
        let (bytes, sha256) = digest(&e.source)?;
        files.push(FileEntry {
            path: e.path.clone(),
            bytes,
            sha256,
            executable: e.executable,
        });
    }
    let manifest = Manifest {
        kind: "metal kit".into(),
        version: version.into(),
        profiles: profiles.to_vec(),
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Manifest(e.to_string()))?;
    let tmp = out.with_extension("part");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let append =
        |tar: &mut tar::Builder<_>, path: &str, size: u64, mode: u32, data: &mut dyn Read| {
            tar.append(&header(path, size, mode), data)
                .map_err(io(&tmp))
        };
    append(
        &mut tar,
        MANIFEST,
        text.len() as u64,
        0o644,
        &mut text.as_slice(),
    )?;
    for (e, f) in entries.iter().zip(&manifest.files) {
        let mode = if e.executable { 0o755 } else { 0o644 };
        match &e.source {
            Source::Bytes(b) => append(&mut tar, &e.path, f.bytes, mode, &mut b.as_slice())?,
            Source::Path(p) => {
                let mut src = File::open(p).map_err(io(p))?;
                // A file that changed size since it was hashed would make a wrong entry.
                let mut limited = (&mut src).take(f.bytes);
                append(&mut tar, &e.path, f.bytes, mode, &mut limited)?;
            }
        }
    }
    let mut w = tar.into_inner().map_err(io(&tmp))?;
    w.flush().map_err(io(&tmp))?;
    w.get_ref().sync_all().map_err(io(&tmp))?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(io(out))?;
    Ok(manifest)
}
