//! `--expect REGEX --timeout SECS`: wait for the board to print a match, for scripts.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use metal_amt::Fleet;
use metal_amt::sol::{SolEvent, SolOptions};
use metal_types::ExitCode;
use regex::Regex;

use super::logfile::LineLog;

/// Lines shown when the wait fails.
const TAIL_LINES: usize = 10;

/// The board's output as lines, keeping the last few and the current partial line.
#[derive(Default)]
struct Lines {
    done: VecDeque<String>,
    partial: Vec<u8>,
}

impl Lines {
    /// Adds output; returns the first line (or the current partial line, for prompts such as
    /// `login: ` that end without a newline) that matches.
    fn push(&mut self, data: &[u8], regex: &Regex) -> Option<String> {
        let mut found = None;
        for &b in data {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.partial)
                    .trim_end_matches('\r')
                    .to_string();
                self.partial.clear();
                if found.is_none() && regex.is_match(&line) {
                    found = Some(line.clone());
                }
                self.done.push_back(line);
                if self.done.len() > TAIL_LINES {
                    self.done.pop_front();
                }
            } else if self.partial.len() < 64 * 1024 {
                self.partial.push(b);
            }
        }
        if found.is_none() {
            let partial = String::from_utf8_lossy(&self.partial);
            if regex.is_match(&partial) {
                found = Some(partial.into_owned());
            }
        }
        found
    }

    fn tail(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.done.iter().cloned().collect();
        if !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
        }
        lines
    }
}

pub async fn run(
    fleet: &Fleet,
    host: &str,
    regex: &Regex,
    timeout: Duration,
    log: Option<&Path>,
    options: SolOptions,
) -> anyhow::Result<i32> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut log = log.map(LineLog::open).transpose()?;
    let mut session =
        match tokio::time::timeout_at(deadline, super::connect(fleet, host, options)).await {
            Ok(r) => r?,
            Err(_) => {
                eprintln!(
                    "error: {host}: no SOL session within {} s",
                    timeout.as_secs_f64()
                );
                return Ok(ExitCode::ALL_FAILED);
            }
        };
    let mut lines = Lines::default();
    let outcome = loop {
        match tokio::time::timeout_at(deadline, session.next_event()).await {
            Err(_) => {
                break Err(format!(
                    "no line matching {:?} within {} s",
                    regex.as_str(),
                    timeout.as_secs_f64()
                ));
            }
            Ok(Err(e)) => break Err(e.to_string()),
            Ok(Ok(SolEvent::Closed)) => break Err("the board closed the SOL session".to_string()),
            Ok(Ok(SolEvent::Controls { .. })) => {}
            Ok(Ok(SolEvent::Data(data))) => {
                if let Some(l) = log.as_mut() {
                    l.write(&data)?;
                }
                if let Some(line) = lines.push(&data, regex) {
                    break Ok(line);
                }
            }
        }
    };
    if let Some(l) = log {
        l.close()?;
    }
    session.close().await;
    match outcome {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::OK)
        }
        Err(why) => {
            eprintln!("error: {host}: {why}; last lines from the board:");
            for line in lines.tail() {
                eprintln!("  | {line}");
            }
            Ok(ExitCode::ALL_FAILED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_complete_lines_and_prompts_without_newline() {
        let re = Regex::new("login:").unwrap();
        let mut l = Lines::default();
        assert_eq!(l.push(b"Booting\r\nnode01 log", &re), None);
        assert_eq!(l.push(b"in: ", &re).as_deref(), Some("node01 login: "));
        let re = Regex::new("^Linux version").unwrap();
        let mut l = Lines::default();
        assert_eq!(
            l.push(b"x\nLinux version 6.1\nmore", &re).as_deref(),
            Some("Linux version 6.1")
        );
        assert_eq!(l.tail(), ["x", "Linux version 6.1", "more"]);
    }
}
