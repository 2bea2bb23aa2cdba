//! `kit`: what was written or checked.

use std::io::{self, Write};
use std::path::Path;

use metal_kit::{Manifest, Verified};
use metal_types::Document;
use serde::Serialize;

#[derive(Serialize)]
struct Kit<'a> {
    path: String,
    version: &'a str,
    profiles: &'a [String],
    files: usize,
    bytes: u64,
}

fn write(out: &mut dyn Write, verb: &str, path: &Path, m: &Manifest, json: bool) -> io::Result<()> {
    let bytes = m.files.iter().map(|f| f.bytes).sum();
    let kit = Kit {
        path: path.display().to_string(),
        version: &m.version,
        profiles: &m.profiles,
        files: m.files.len(),
        bytes,
    };
    if json {
        return super::json(out, &Document::new("kit", kit));
    }
    writeln!(
        out,
        "{verb} {}: metal {} for {}, {} files, {} bytes, every SHA-256 as in MANIFEST.json",
        kit.path,
        kit.version,
        kit.profiles.join(", "),
        kit.files,
        kit.bytes
    )
}

pub fn built(out: &mut dyn Write, path: &Path, m: &Manifest, json: bool) -> io::Result<()> {
    write(out, "wrote", path, m, json)
}

pub fn verified(out: &mut dyn Write, path: &Path, v: &Verified, json: bool) -> io::Result<()> {
    write(out, "ok", path, &v.manifest, json)
}
