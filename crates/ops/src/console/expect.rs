//! Waiting for the board to print a line matching a pattern, for scripts (`console --expect`).
//! Complete lines and the current partial line are matched, so prompts such as `login: ` that
//! end without a newline match too.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use regex::Regex;

use super::logfile::LineLog;
use super::session::{Console, ConsoleEvent, ConsoleOptions};
use crate::{Config, Error};

/// Lines kept to show when the wait fails.
const TAIL_LINES: usize = 10;
/// The longest partial line kept (a board printing without newlines cannot grow it further).
const MAX_PARTIAL: usize = 64 * 1024;

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The first line that matched.
    Matched(String),
    /// Why not, and the last lines the board printed.
    Failed { why: String, tail: Vec<String> },
}

/// The board's output as lines, keeping the last few and the current partial line.
#[derive(Default)]
struct Lines {
    done: VecDeque<String>,
    partial: Vec<u8>,
}

impl Lines {
    /// Adds output; returns the first line (or the current partial line) that matches.
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
            } else if self.partial.len() < MAX_PARTIAL {
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

/// Parses the pattern and checks the timeout, before anything connects.
pub fn pattern(text: &str, timeout_secs: f64) -> Result<(Regex, Duration), Error> {
    let regex = Regex::new(text).map_err(|e| Error::Usage(format!("--expect {text:?}: {e}")))?;
    if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
        return Err(Error::Usage(
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    Ok((regex, Duration::from_secs_f64(timeout_secs)))
}

/// Opens the console of `spec` and waits up to `timeout` (connecting included) for a match;
/// everything printed goes to `log` too, and `note` hears what had to be switched on first.
pub async fn expect(
    config: &Config,
    spec: &str,
    regex: &Regex,
    timeout: Duration,
    log: Option<&Path>,
    options: ConsoleOptions,
    note: &mut (dyn FnMut(&str) + Send),
) -> Result<Outcome, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut log = log
        .map(|p| LineLog::open(p).map_err(Error::io(p)).map(|l| (l, p)))
        .transpose()?;
    let opened = tokio::time::timeout_at(deadline, Console::open(config, spec, options)).await;
    let Ok(opened) = opened else {
        return Ok(Outcome::Failed {
            why: format!("no SOL session within {} s", timeout.as_secs_f64()),
            tail: Vec::new(),
        });
    };
    let mut console = opened?;
    for n in &console.notes {
        note(n);
    }
    let mut lines = Lines::default();
    let outcome = loop {
        match tokio::time::timeout_at(deadline, console.next_event()).await {
            Err(_) => {
                break Err(format!(
                    "no line matching {:?} within {} s",
                    regex.as_str(),
                    timeout.as_secs_f64()
                ));
            }
            Ok(Err(e)) => break Err(e.to_string()),
            Ok(Ok(ConsoleEvent::Closed)) => break Err("the board closed the SOL session".into()),
            Ok(Ok(ConsoleEvent::PoweredOn)) => {}
            Ok(Ok(ConsoleEvent::Data(data))) => {
                if let Some((l, path)) = log.as_mut() {
                    l.write(&data).map_err(Error::io(path))?;
                }
                if let Some(line) = lines.push(&data, regex) {
                    break Ok(line);
                }
            }
        }
    };
    if let Some((l, path)) = log {
        l.close().map_err(Error::io(path))?;
    }
    console.close().await;
    Ok(match outcome {
        Ok(line) => Outcome::Matched(line),
        Err(why) => Outcome::Failed {
            why,
            tail: lines.tail(),
        },
    })
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

    #[test]
    fn bad_patterns_and_timeouts_are_usage_errors() {
        assert!(pattern("(", 1.0).is_err());
        assert!(pattern("x", 0.0).is_err());
        assert!(pattern("x", f64::NAN).is_err());
        assert!(pattern("x", 2.5).is_ok());
    }
}
