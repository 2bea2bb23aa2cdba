//! Checking a kit, and unpacking one that checks out. The archive is read as hostile: entry
//! types, paths, sizes and digests are all checked against the manifest, and an error names
//! the file it is about.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, FileEntry, MANIFEST, MAX_MANIFEST_BYTES, Manifest, safe_path};

/// A kit that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    /// Bytes of all files but the manifest.
    pub bytes: u64,
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_string(),
        source,
    }
}

/// Checks the archive at `kit`; with `into`, also writes its files under that folder (which
/// must exist and be empty). Nothing is written for a file before its digest is known to
/// match; a kit that fails leaves what was written so far, and says which file failed.
fn read(kit: &Path, into: Option<&Path>) -> Result<Verified, Error> {
    let shown = kit.display().to_string();
    let file = File::open(kit).map_err(io(&shown))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = archive.entries().map_err(io(&shown))?;
    let mut previous = String::from("the start of the archive");
    let mut next = |previous: &str| -> Result<Option<tar::Entry<'_, _>>, Error> {
        match entries.next() {
            None => Ok(None),
            Some(Ok(e)) => Ok(Some(e)),
            Some(Err(e)) => Err(Error::Tampered {
                path: shown.clone(),
                why: format!("damaged archive after {previous}: {e}"),
            }),
        }
    };
    let Some(mut first) = next(&previous)? else {
        return Err(Error::Manifest("the archive is empty".into()));
    };
    let name = entry_path(&first)?;
    if name != MANIFEST || first.header().entry_type() != tar::EntryType::Regular {
        return Err(Error::Manifest(format!(
            "the first entry is {name:?}, not the manifest"
        )));
    }
    if first.size() > MAX_MANIFEST_BYTES {
        return Err(Error::Manifest("larger than 1 MiB".into()));
    }
    let mut text = Vec::new();
    first
        .read_to_end(&mut text)
        .map_err(|e| Error::Manifest(e.to_string()))?;
    drop(first);
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Error::Manifest(format!("not a kit manifest: {e}")))?;
    let mut expected: HashMap<&str, &FileEntry> = HashMap::new();
    for f in &manifest.files {
        safe_path(&f.path)?;
        if expected.insert(f.path.as_str(), f).is_some() {
            return Err(Error::Manifest(format!("{} is listed twice", f.path)));
        }
    }
    previous = MANIFEST.to_string();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while let Some(mut entry) = next(&previous)? {
        let path = entry_path(&entry)?;
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            return Err(Error::Tampered {
                path,
                why: format!("a {kind:?} entry; a kit holds regular files only"),
            });
        }
        let Some(want) = expected.remove(path.as_str()) else {
            return Err(Error::Tampered {
                path,
                why: "not in the manifest (or in the archive twice)".into(),
            });
        };
        if entry.size() != want.bytes {
            return Err(Error::Tampered {
                path,
                why: format!("{} bytes, the manifest says {}", entry.size(), want.bytes),
            });
        }
        // Written to a temporary name, renamed once the digest matches.
        let mut out = match into {
            Some(dir) => {
                let target = dir.join(&path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io(&path))?;
                }
                let tmp = target.with_extension("kit-part");
                Some((File::create(&tmp).map_err(io(&path))?, tmp, target))
            }
            None => None,
        };
        let mut hasher = Sha256::new();
        loop {
            let n = entry.read(&mut buf).map_err(|e| Error::Tampered {
                path: path.clone(),
                why: format!("unreadable: {e}"),
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some((f, _, _)) = out.as_mut() {
                f.write_all(&buf[..n]).map_err(io(&path))?;
            }
        }
        let got = hex::encode(hasher.finalize());
        if got != want.sha256 {
            if let Some((_, tmp, _)) = &out {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(Error::Tampered {
                path,
                why: format!("SHA-256 {got}, the manifest says {}", want.sha256),
            });
        }
        if let Some((f, tmp, target)) = out {
            f.sync_all().map_err(io(&path))?;
            drop(f);
            set_mode(&tmp, want.executable).map_err(io(&path))?;
            std::fs::rename(&tmp, &target).map_err(io(&path))?;
        }
        total += want.bytes;
        previous = path;
    }
    if let Some(missing) = expected.keys().min() {
        return Err(Error::Tampered {
            path: (*missing).to_string(),
            why: "in the manifest but missing from the archive".into(),
        });
    }
    Ok(Verified {
        manifest,
        bytes: total,
    })
}

fn set_mode(path: &Path, executable: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, Error> {
    let raw = entry.path_bytes();
    let path = String::from_utf8_lossy(&raw).into_owned();
    safe_path(&path)?;
    Ok(path)
}

/// Checks the archive at `kit` against its manifest.
pub fn verify(kit: &Path) -> Result<Verified, Error> {
    read(kit, None)
}

/// Checks the archive and writes its files under `dir` (an existing, empty folder).
pub fn unpack(kit: &Path, dir: &Path) -> Result<Verified, Error> {
    let empty = std::fs::read_dir(dir)
        .map_err(io(&dir.display().to_string()))?
        .next()
        .is_none();
    if !empty {
        return Err(Error::UnsafePath {
            path: dir.display().to_string(),
            why: "the folder to unpack into is not empty",
        });
    }
    let verified = read(kit, Some(dir))?;
    std::fs::write(
        dir.join(MANIFEST),
        serde_json::to_vec_pretty(&verified.manifest).unwrap_or_default(),
    )
    .map_err(io(MANIFEST))?;
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, Source, build};

    fn kit(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("kit.tar");
        let entries = [
            Entry {
                path: "bin/tool".into(),
                source: Source::Bytes(b"#!/bin/sh\necho tool\n".to_vec()),
                executable: true,
            },
            Entry {
                path: "hardware-profiles/p.toml".into(),
                source: Source::Bytes(b"description = \"profile text\"\n".to_vec()),
                executable: false,
            },
        ];
        build(&path, "1.0", &["p".into()], &entries).unwrap();
        path
    }

    fn flip_in(path: &Path, needle: &[u8]) {
        let mut data = std::fs::read(path).unwrap();
        let at = data
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        data[at] ^= 0x20;
        std::fs::write(path, data).unwrap();
    }

    #[test]
    fn a_built_kit_verifies_and_unpacks_with_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = kit(dir.path());
        let v = verify(&path).unwrap();
        assert_eq!(v.manifest.files.len(), 2);
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        unpack(&path, &out).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_to_string(out.join("hardware-profiles/p.toml")).unwrap(),
            "description = \"profile text\"\n"
        );
        assert!(
            unpack(&path, &out)
                .unwrap_err()
                .to_string()
                .contains("not empty")
        );
    }

    #[test]
    fn one_flipped_byte_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = kit(dir.path());
        flip_in(&path, b"profile text");
        let e = verify(&path).unwrap_err().to_string();
        assert!(e.starts_with("hardware-profiles/p.toml: SHA-256"), "{e}");
        let path = kit(dir.path());
        flip_in(&path, b"echo tool");
        let out = dir.path().join("o");
        std::fs::create_dir(&out).unwrap();
        let e = unpack(&path, &out).unwrap_err().to_string();
        assert!(e.starts_with("bin/tool: SHA-256"), "{e}");
        assert!(!out.join("bin/tool").exists() && !out.join("bin/tool.kit-part").exists());
    }

    #[test]
    fn unsafe_paths_and_unlisted_files_are_refused() {
        for bad in ["/etc/passwd", "../x", "a//b", "a/./b", "a b", ""] {
            assert!(crate::safe_path(bad).is_err(), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = kit(dir.path());
        // An extra entry appended after the real ones.
        let mut data = std::fs::read(&path).unwrap();
        while data.ends_with(&[0u8; 512]) {
            data.truncate(data.len() - 512);
        }
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path("bin/extra").unwrap();
        h.set_size(1);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        data.extend(b.into_inner().unwrap());
        std::fs::write(&path, data).unwrap();
        let e = verify(&path).unwrap_err().to_string();
        assert!(e.starts_with("bin/extra: not in the manifest"), "{e}");
    }
}
