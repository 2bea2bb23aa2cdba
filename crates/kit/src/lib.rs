//! The vendor kit: one tar archive that holds everything a hardware vendor ships beside the
//! boards, and `MANIFEST.json`, the SHA-256 and size of every other file in it.
//!
//! The archive is a plain (uncompressed) POSIX tar, so a damaged byte lands in exactly one
//! file and [`verify`] can name it; compress it for transport if you like. The manifest is
//! the archive's first entry. [`verify`] reads an archive as hostile: only regular files and
//! directories, relative paths without `..`, a bounded manifest, every file listed exactly
//! once with its digest, and nothing unlisted.

mod archive;
mod check;

pub use archive::{Entry, Source, build};
pub use check::{Verified, unpack, verify};

use serde::{Deserialize, Serialize};

/// The manifest's path inside the archive.
pub const MANIFEST: &str = "MANIFEST.json";
/// The largest manifest read (a kit lists tens of files).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// `MANIFEST.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// What the kit is (`metal kit`), and the version of metal that built it.
    pub kind: String,
    pub version: String,
    /// The hardware profiles it was built for.
    pub profiles: Vec<String>,
    pub files: Vec<FileEntry>,
}

/// One file of the kit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// Whether it is a program (mode 0755, else 0644).
    pub executable: bool,
}

/// What can go wrong building or checking a kit. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a safe path inside a kit ({why})")]
    UnsafePath { path: String, why: &'static str },
    #[error("{path}: {why}")]
    Tampered { path: String, why: String },
    #[error("{MANIFEST}: {0}")]
    Manifest(String),
}

/// Checks a path is relative, normal and portable: `a/b.txt`, never `/a`, `../a`, `a//b`.
pub fn safe_path(path: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::UnsafePath {
            path: path.escape_debug().to_string(),
            why,
        })
    };
    if path.is_empty() || path.len() > 200 {
        return bad("empty or longer than 200 bytes");
    }
    if path.starts_with('/') {
        return bad("absolute");
    }
    for part in path.split('/') {
        match part {
            "" => return bad("an empty component"),
            "." | ".." => return bad("a . or .. component"),
            p if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')) =>
            {
                return bad("a character outside A-Z a-z 0-9 . _ - +");
            }
            _ => {}
        }
    }
    Ok(())
}
