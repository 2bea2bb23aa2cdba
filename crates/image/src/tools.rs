//! The programs a build runs (debootstrap, mksquashfs, modprobe, depmod, cpio), with their
//! failures as typed errors that quote the end of what they printed.

use std::process::{Command, Stdio};

use crate::Error;

/// Runs `cmd`; its stdout on success.
pub fn run(cmd: &mut Command) -> Result<String, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            program: program.clone(),
            source,
        })?;
    if !out.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        return Err(Error::Tool {
            program,
            status: out.status.to_string(),
            tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn require_root() -> Result<(), Error> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1));
    if euid == Some("0") {
        Ok(())
    } else {
        Err(Error::NotRoot)
    }
}
