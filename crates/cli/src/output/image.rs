//! `metal image build|ls` output: a summary per image, or the manifests as JSON.

use std::io::Write;

use metal_ops::Error;
use metal_ops::image::{Built, Listed, Manifest};
use metal_types::Document;
use metal_types::text::Escaped as E;
use serde::Serialize;

use crate::commands::Ctx;

#[derive(Serialize)]
struct BuiltDoc<'a> {
    manifest_path: String,
    cached: bool,
    seconds: f64,
    manifest: &'a Manifest,
}

pub fn built(ctx: &Ctx, b: &Built) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let doc = BuiltDoc {
            manifest_path: b.manifest_path.display().to_string(),
            cached: b.cached,
            seconds: b.took.as_secs_f64(),
            manifest: &b.manifest,
        };
        super::json(&mut out, &Document::new("image build", doc))?;
        return Ok(());
    }
    let how = if b.cached { "from the cache" } else { "built" };
    let mut text = format!(
        "{} {how} in {:.1} s: {} ({}, {} packages)\n",
        b.manifest.kind,
        b.took.as_secs_f64(),
        b.manifest_path.display(),
        if b.manifest.kernel_version.is_empty() {
            "no kernel: guests boot the Dom0's".to_string()
        } else {
            format!("kernel {}", b.manifest.kernel_version)
        },
        b.manifest.packages.len()
    );
    for f in &b.manifest.files {
        text.push_str(&format!(
            "  {:<22} {:>10} bytes  sha256 {}\n",
            f.name, f.size, f.sha256
        ));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[derive(Serialize)]
struct ListedDoc<'a> {
    path: String,
    ok: bool,
    problems: Vec<String>,
    manifest: &'a Manifest,
}

pub fn listed(ctx: &Ctx, listed: &[Listed]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    if ctx.json {
        let docs: Vec<ListedDoc> = listed
            .iter()
            .map(|l| ListedDoc {
                path: l.path.display().to_string(),
                ok: l.problems.is_empty(),
                problems: l.problems.iter().map(|p| p.to_string()).collect(),
                manifest: &l.manifest,
            })
            .collect();
        super::json(
            &mut out,
            &Document::new("image ls", serde_json::json!({ "images": docs })),
        )?;
        return Ok(());
    }
    // A folder's manifests are anyone's files: their text is escaped for the terminal.
    let mut table = super::table(["IMAGE", "KERNEL", "FILES", "SIZE", "KEY", "STATUS"]);
    for l in listed {
        let m = &l.manifest;
        let size: u64 = m.files.iter().map(|f| f.size).sum();
        let status = if l.problems.is_empty() {
            "ok".to_string()
        } else {
            l.problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let key: String = m.key.chars().take(16).collect();
        table.add_row([
            E(&m.kind).to_string(),
            E(&m.kernel_version).to_string(),
            m.files.len().to_string(),
            format!("{:.1} MiB", size as f64 / (1 << 20) as f64),
            E(&key).to_string(),
            E(&status).to_string(),
        ]);
    }
    out.write_all(format!("{table}\n").as_bytes())?;
    Ok(())
}
