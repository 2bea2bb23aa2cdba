//! `<kind>.manifest.json`: what an image is made of and the SHA-256 of each of its files, so a
//! server (and `metal image ls`) can tell a complete image from a changed or partial one.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::error::io;
use crate::recipe::{Kind, Recipe};
use crate::tree::Tree;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// `dom0` or `installer`.
    pub kind: String,
    /// The cache key: SHA-256 over the suite, the mirror and every recipe file.
    pub key: String,
    pub suite: String,
    pub mirror: String,
    pub kernel_version: String,
    /// Each recipe file under `images/` and the SHA-256 of its text.
    pub inputs: BTreeMap<String, String>,
    /// Every package of the build tree and its version.
    pub packages: BTreeMap<String, String>,
    pub files: Vec<FileEntry>,
    /// Seconds the build took (debootstrap included when the tree was built too).
    pub build_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The manifest of the files now in `dir` (every regular file not starting with `.`).
pub fn describe(
    kind: Kind,
    recipe: &Recipe,
    tree: &Tree,
    dir: &Path,
    packages: &[(String, String)],
) -> Result<Manifest, Error> {
    let mut files = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && !n.ends_with(".manifest.json"))
        .collect();
    names.sort();
    for name in names {
        let (size, sha256) = digest(&dir.join(&name))?;
        files.push(FileEntry { name, size, sha256 });
    }
    Ok(Manifest {
        kind: kind.name().to_string(),
        key: String::new(),
        suite: recipe.suite.clone(),
        mirror: recipe.mirror.clone(),
        kernel_version: tree.kernel_version.clone(),
        inputs: recipe.inputs(kind).into_iter().collect(),
        packages: packages.iter().cloned().collect(),
        files,
        build_seconds: 0.0,
    })
}

/// Size and SHA-256 of a file, read in 1 MiB pieces.
pub fn digest(path: &Path) -> Result<(u64, String), Error> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

pub fn write(manifest: &Manifest, path: &Path) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(manifest).map_err(|source| Error::Manifest {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text + "\n").map_err(io(path))
}

/// A manifest is a few kilobytes (a line per package and file); a larger file is not one.
const MAX_MANIFEST: u64 = 1 << 20;

pub fn read(path: &Path) -> Result<Manifest, Error> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut text = String::new();
    file.take(MAX_MANIFEST + 1)
        .read_to_string(&mut text)
        .map_err(io(path))?;
    if text.len() as u64 > MAX_MANIFEST {
        return Err(Error::Tree {
            path: path.to_path_buf(),
            reason: format!("larger than {MAX_MANIFEST} bytes: not a manifest"),
        });
    }
    serde_json::from_str(&text).map_err(|source| Error::Manifest {
        path: path.to_path_buf(),
        source,
    })
}

/// An image found in a folder, with what is wrong with its files.
#[derive(Debug)]
pub struct Listed {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub problems: Vec<Problem>,
}

/// A file of a manifest that is not as the manifest says.
#[derive(Debug, PartialEq)]
pub enum Problem {
    Missing(String),
    Changed(String),
    /// A name that is not a plain file name of the folder (`../x`, `a/b`): never read.
    NotInFolder(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing(n) => write!(f, "{n} is missing"),
            Problem::Changed(n) => write!(f, "{n} differs from its manifest"),
            Problem::NotInFolder(n) => write!(f, "{n:?} is not a file name of this folder"),
        }
    }
}

pub fn list(dir: &Path) -> Result<Vec<Listed>, Error> {
    let mut found = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".manifest.json"))
        })
        .collect();
    paths.sort();
    for path in paths {
        let manifest = read(&path)?;
        let mut problems = Vec::new();
        for f in &manifest.files {
            let plain = Path::new(&f.name).file_name() == Some(std::ffi::OsStr::new(&f.name));
            if !plain {
                problems.push(Problem::NotInFolder(f.name.clone()));
                continue;
            }
            let p = dir.join(&f.name);
            match digest(&p) {
                Err(_) => problems.push(Problem::Missing(f.name.clone())),
                Ok((size, sha)) if size != f.size || sha != f.sha256 => {
                    problems.push(Problem::Changed(f.name.clone()))
                }
                Ok(_) => {}
            }
        }
        found.push(Listed {
            path,
            manifest,
            problems,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> Manifest {
        std::fs::write(dir.join("vmlinuz"), b"kernel").unwrap();
        std::fs::write(dir.join("dom0-initrd.img"), b"initrd").unwrap();
        let tree = Tree {
            root: dir.to_path_buf(),
            kernel_version: "6.1.0-1-amd64".to_string(),
        };
        let recipe = Recipe::new("bookworm", "http://mirror");
        let m = describe(
            Kind::Dom0,
            &recipe,
            &tree,
            dir,
            &[("xen-utils-4.17".into(), "4.17.5".into())],
        )
        .unwrap();
        write(&m, &dir.join("dom0.manifest.json")).unwrap();
        m
    }

    #[test]
    fn describes_every_file_with_its_digest_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let m = sample(dir.path());
        assert_eq!(m.files.len(), 2);
        let k = m.files.iter().find(|f| f.name == "vmlinuz").unwrap();
        assert_eq!(k.size, 6);
        assert_eq!(k.sha256, hex::encode(Sha256::digest(b"kernel")));
        assert_eq!(read(&dir.path().join("dom0.manifest.json")).unwrap(), m);
    }

    #[test]
    fn listing_names_missing_and_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let ok = list(dir.path()).unwrap();
        assert_eq!(ok.len(), 1);
        assert!(ok[0].problems.is_empty(), "{:?}", ok[0].problems);
        let mut outside = read(&dir.path().join("dom0.manifest.json")).unwrap();
        outside.files[0].name = "../secret".into();
        write(&outside, &dir.path().join("outside.manifest.json")).unwrap();
        let listed = list(dir.path()).unwrap();
        assert_eq!(
            listed[1].problems,
            vec![Problem::NotInFolder("../secret".into())]
        );
        std::fs::remove_file(dir.path().join("outside.manifest.json")).unwrap();
        std::fs::write(dir.path().join("vmlinuz"), b"kernel, patched").unwrap();
        std::fs::remove_file(dir.path().join("dom0-initrd.img")).unwrap();
        let bad = list(dir.path()).unwrap();
        assert_eq!(
            bad[0].problems,
            vec![
                Problem::Missing("dom0-initrd.img".into()),
                Problem::Changed("vmlinuz".into())
            ]
        );
    }
}
