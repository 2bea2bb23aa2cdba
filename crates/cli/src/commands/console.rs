//! `console`: interactive (a raw terminal: keystrokes to the board, its output to the screen;
//! `~.` at the start of a line leaves and `~~` sends one `~`, as ssh and ipmitool do),
//! `--expect REGEX` for scripts, and `--record TARGETS --dir DIR`. The terminal is restored on
//! every way out: normal exit, error, signal, panic.

use std::io::IsTerminal;
use std::path::Path;

use metal_ops::console::expect::{self, Outcome};
use metal_ops::console::{Console, ConsoleEvent, ConsoleOptions, LineLog, record};
use metal_ops::{Config, Error};
use metal_types::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use super::ctx::Ctx;
use crate::args::ConsoleArgs;
use crate::output;

pub async fn run(ctx: &Ctx, args: ConsoleArgs) -> Result<i32, Error> {
    let options = ConsoleOptions::new(args.heartbeat_timeout)?;
    if let (Some(targets), Some(dir)) = (&args.record, &args.dir) {
        return record(ctx, targets, dir, options).await;
    }
    let Some(host) = args.host.as_deref() else {
        return Err(Error::Usage("console needs a board (or --record)".into()));
    };
    match &args.expect {
        Some(pattern) => {
            let (regex, timeout) = expect::pattern(pattern, args.timeout)?;
            let outcome = expect::expect(
                &ctx.config,
                host,
                &regex,
                timeout,
                args.log.as_deref(),
                options,
                &mut |note| eprintln!("[metal] {note}"),
            )
            .await?;
            output::board::expected(&mut std::io::stdout(), host, &outcome, ctx.json)?;
            Ok(match outcome {
                Outcome::Matched(_) => ExitCode::OK,
                Outcome::Failed { .. } => ExitCode::ALL_FAILED,
            })
        }
        None => {
            super::ctx::no_json(ctx, "the interactive console", "use --expect or --record")?;
            interactive(&ctx.config, host, args.log.as_deref(), options).await
        }
    }
}

async fn record(
    ctx: &Ctx,
    targets: &[String],
    dir: &Path,
    options: ConsoleOptions,
) -> Result<i32, Error> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).map_err(Error::Output)?;
    let stopper = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stop_tx.send(true);
    };
    let recording = record::record(&ctx.config, targets, dir, options, stop_rx, |n| {
        eprintln!(
            "[metal] recording {n} boards into {}; interrupt (Ctrl-C) to stop",
            dir.display()
        );
    });
    let (boards, ()) = tokio::join!(recording, stopper);
    let boards = boards?;
    output::board::recordings(&mut std::io::stdout(), &boards, ctx.json)?;
    let ok = boards.iter().filter(|b| b.ok()).count();
    Ok(ExitCode::for_fleet(ok, boards.len() - ok))
}

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
struct Escape {
    mid_line: bool,
    after_tilde: bool,
}

impl Escape {
    /// Filters typed bytes: returns what to send to the board and whether to leave.
    fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
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

async fn interactive(
    config: &Config,
    host: &str,
    log: Option<&Path>,
    options: ConsoleOptions,
) -> Result<i32, Error> {
    let mut log = match log {
        Some(p) => Some(LineLog::open(p).map_err(Error::io(p))?),
        None => None,
    };
    let mut console = Console::open(config, host, options).await?;
    for note in &console.notes {
        eprintln!("[metal] {note}");
    }
    let tty = std::io::stdin().is_terminal();
    let (major, minor) = console.firmware();
    let board = console.host.clone();
    eprintln!(
        "[metal] connected to {board} (AMT {major}.{minor}, SOL); type ~. at the start of a line to leave\r"
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
            event = console.next_event() => match event {
                Ok(ConsoleEvent::Data(data)) => {
                    stdout.write_all(&data).await?;
                    stdout.flush().await?;
                    if let Some(l) = log.as_mut() {
                        l.write(&data)?;
                    }
                }
                Ok(ConsoleEvent::PoweredOn) => {
                    eprint!("\r\n[metal] {board}: the system powered on\r\n");
                    if let Some(l) = log.as_mut() {
                        l.note("the system powered on")?;
                    }
                }
                Ok(ConsoleEvent::Closed) => {
                    eprint!("\r\n[metal] {board}: the board closed the session\r\n");
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
                        console.send(&send).await?;
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
    console.close().await;
    if let Some(l) = log {
        l.close()?;
    }
    eprintln!("[metal] disconnected from {board}");
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
