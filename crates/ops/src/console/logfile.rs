//! The `--log` / `--record` file format: one line per line the board printed, prefixed with the
//! time it completed (RFC 3339, UTC, milliseconds). Carriage returns are dropped; a partial
//! last line is written when the file is closed. `metal`'s own notes start with `[metal]`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

/// A console log file being written.
pub struct LineLog {
    out: BufWriter<File>,
    partial: Vec<u8>,
}

impl LineLog {
    /// Opens `path` for appending (a reconnect or a second run adds to the same file).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            out: BufWriter::new(file),
            partial: Vec::new(),
        })
    }

    /// Adds bytes the board printed.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        for &b in data {
            match b {
                b'\n' => self.finish_line()?,
                b'\r' => {}
                _ => self.partial.push(b),
            }
        }
        self.out.flush()
    }

    /// Writes a note of `metal`'s own (session lost, reconnected ...) on its own line.
    pub fn note(&mut self, text: &str) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            self.finish_line()?;
        }
        writeln!(self.out, "{} [metal] {text}", stamp())?;
        self.out.flush()
    }

    fn finish_line(&mut self) -> std::io::Result<()> {
        let line = String::from_utf8_lossy(&self.partial);
        writeln!(self.out, "{} {line}", stamp())?;
        self.partial.clear();
        Ok(())
    }

    /// Writes the partial last line, if any.
    pub fn close(mut self) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            self.finish_line()?;
        }
        self.out.flush()
    }
}

fn stamp() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_timestamped_and_split_across_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.log");
        let mut log = LineLog::open(&path).unwrap();
        log.write(b"BIOS v1\r\nBoot").unwrap();
        log.write(b"ing from PXE\r\nlogin: ").unwrap();
        log.note("session lost").unwrap();
        log.close().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(
            lines,
            [
                "BIOS v1",
                "Booting from PXE",
                "login: ",
                "[metal] session lost"
            ]
        );
        assert!(
            text.starts_with("20") && text.lines().all(|l| l.as_bytes()[10] == b'T'),
            "{text}"
        );
    }
}
