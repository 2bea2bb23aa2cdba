//! Everything `metal` prints: tables, text views and `--json` documents (written to any
//! `io::Write`, so a closed pipe is an error the caller can end quietly on), and progress bars
//! on stderr.

pub mod acceptance;
pub mod board;
pub mod fleet;
pub mod image;
pub mod inventory;
pub mod kit;
pub mod operations;
pub mod progress;
pub mod services;
pub mod vm;

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

/// Writes one JSON document and a newline.
pub fn json(out: &mut dyn Write, doc: &impl Serialize) -> io::Result<()> {
    // Rendered whole, then written once: stdout is line-buffered, and a fleet's document has
    // a line per field (160 000 write calls for 10 000 boards otherwise).
    let mut text = serde_json::to_vec_pretty(doc)?;
    text.push(b'\n');
    out.write_all(&text)
}

/// Writes one JSON document on one line (the services' logs).
pub fn json_line(out: &mut dyn Write, doc: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, doc)?;
    writeln!(out)?;
    out.flush()
}

/// A table in the house style.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(header);
    table
}

/// Bytes as GiB with one decimal.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
