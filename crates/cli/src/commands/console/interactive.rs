//! The interactive console: the terminal in raw mode, keystrokes to the board, its output to
//! the screen. `~.` at the start of a line leaves and `~~` sends a single `~` (as ssh and
//! ipmitool do). The terminal is restored on every way out: normal exit, error, signal, panic.

use std::io::IsTerminal;
use std::path::Path;

use metal_amt::Fleet;
use metal_amt::sol::{STATUS_POWERED_ON, SolEvent, SolOptions};
use metal_types::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};

use super::logfile::LineLog;

/// Raw mode for as long as it lives.
struct RawMode;

impl RawMode {
    fn enable() -> std::io::Result<Self> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The `~` escape at the start of a line.
#[derive(Debug, Default)]
pub struct Escape {
    mid_line: bool,
    after_tilde: bool,
}

impl Escape {
    /// Filters typed bytes: returns what to send to the board and whether to leave.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.after_tilde {
                self.after_tilde = false;
                match b {
                    b'.' => return (out, true),
                    b'~' => out.push(b'~'),
                    other => out.extend_from_slice(&[b'~', other]),
                }
            } else if b == b'~' && !self.mid_line {
                self.after_tilde = true;
                continue;
            } else {
                out.push(b);
            }
            self.mid_line = !matches!(b, b'\r' | b'\n');
        }
        (out, false)
    }
}

pub async fn run(
    fleet: &Fleet,
    host: &str,
    log: Option<&Path>,
    options: SolOptions,
) -> anyhow::Result<i32> {
    let mut log = log.map(LineLog::open).transpose()?;
    let mut session = match super::connect(fleet, host, options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::ALL_FAILED);
        }
    };
    let tty = std::io::stdin().is_terminal();
    let (major, minor) = session.firmware;
    eprintln!(
        "[metal] connected to {host} (AMT {major}.{minor}, SOL); type ~. at the start of a line to leave\r"
    );
    let guard = if tty { Some(RawMode::enable()?) } else { None };
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut escape = Escape::default();
    let mut input = [0u8; 4096];
    let mut stdin_open = true;
    let code = loop {
        tokio::select! {
            event = session.next_event() => match event {
                Ok(SolEvent::Data(data)) => {
                    stdout.write_all(&data).await?;
                    stdout.flush().await?;
                    if let Some(l) = log.as_mut() {
                        l.write(&data)?;
                    }
                }
                Ok(SolEvent::Controls { status, .. }) if status & STATUS_POWERED_ON != 0 => {
                    eprint!("\r\n[metal] {host}: the system powered on\r\n");
                    if let Some(l) = log.as_mut() {
                        l.note("the system powered on")?;
                    }
                }
                Ok(SolEvent::Controls { .. }) => {}
                Ok(SolEvent::Closed) => {
                    eprint!("\r\n[metal] {host}: the board closed the session\r\n");
                    break ExitCode::ALL_FAILED;
                }
                Err(e) => {
                    eprint!("\r\n[metal] {e}\r\n");
                    break ExitCode::ALL_FAILED;
                }
            },
            read = stdin.read(&mut input), if stdin_open => match read {
                Ok(0) | Err(_) if tty => break ExitCode::OK,
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    let (send, leave) = escape.feed(&input[..n]);
                    if !send.is_empty() {
                        session.send(&send).await?;
                    }
                    if leave {
                        break ExitCode::OK;
                    }
                }
            },
            _ = term.recv() => break ExitCode::OK,
            _ = hangup.recv() => break ExitCode::OK,
        }
    };
    drop(guard);
    session.close().await;
    if let Some(l) = log {
        l.close()?;
    }
    eprintln!("[metal] disconnected from {host}");
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::Escape;

    #[test]
    fn tilde_dot_leaves_only_at_line_start() {
        let mut e = Escape::default();
        assert_eq!(e.feed(b"~."), (vec![], true));
        let mut e = Escape::default();
        assert_eq!(e.feed(b"ls ~.\r"), (b"ls ~.\r".to_vec(), false));
        assert_eq!(e.feed(b"~"), (vec![], false));
        assert_eq!(e.feed(b"."), (vec![], true));
    }

    #[test]
    fn double_tilde_sends_one_and_other_keys_pass() {
        let mut e = Escape::default();
        assert_eq!(e.feed(b"~~x"), (b"~x".to_vec(), false));
        let mut e = Escape::default();
        assert_eq!(e.feed(b"~a\n~.rest"), (b"~a\n".to_vec(), true));
    }
}
