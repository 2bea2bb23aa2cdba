//! `--record TARGETS --dir DIR`: one file per board (`DIR/<address>.log`), every board at
//! once, each session reopened when it drops (a board reset, a lost heartbeat), until
//! interrupted. The files use the timestamped-line format of `--log`.

use std::path::Path;
use std::time::Duration;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use metal_amt::Fleet;
use metal_amt::sol::{STATUS_POWERED_ON, SolEvent, SolOptions};
use metal_types::ExitCode;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use super::logfile::LineLog;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What recording one board achieved.
#[derive(Debug, Default)]
struct Summary {
    sessions: u32,
    bytes: u64,
    last_error: Option<String>,
}

async fn record_one(
    fleet: Fleet,
    host: String,
    path: std::path::PathBuf,
    options: SolOptions,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Summary> {
    let mut log = LineLog::open(&path)?;
    let mut summary = Summary::default();
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        let connect = super::connect(&fleet, &host, options);
        let opened = tokio::select! {
            r = connect => r,
            _ = stop.changed() => break,
        };
        match opened {
            Ok(mut session) => {
                summary.sessions += 1;
                backoff = Duration::from_secs(1);
                log.note(&format!("SOL session {} opened", summary.sessions))?;
                loop {
                    tokio::select! {
                        event = session.next_event() => match event {
                            Ok(SolEvent::Data(data)) => {
                                summary.bytes += data.len() as u64;
                                log.write(&data)?;
                            }
                            Ok(SolEvent::Controls { status, .. }) if status & STATUS_POWERED_ON != 0 => log.note("the system powered on")?,
                            Ok(SolEvent::Controls { .. }) => {}
                            Ok(SolEvent::Closed) => {
                                log.note("the board closed the session; reconnecting")?;
                                break;
                            }
                            Err(e) => {
                                log.note(&format!("session lost: {e}; reconnecting"))?;
                                summary.last_error = Some(e.to_string());
                                break;
                            }
                        },
                        _ = stop.changed() => {
                            session.close().await;
                            log.note("recording stopped")?;
                            log.close()?;
                            return Ok(summary);
                        }
                    }
                }
            }
            Err(e) => {
                log.note(&format!(
                    "cannot open SOL: {e}; retrying in {} s",
                    backoff.as_secs()
                ))?;
                summary.last_error = Some(e.to_string());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    log.note("recording stopped")?;
    log.close()?;
    Ok(summary)
}

pub async fn run(
    fleet: &Fleet,
    targets: &[String],
    dir: &Path,
    options: SolOptions,
) -> anyhow::Result<i32> {
    let hosts = super::super::common::expand_targets(targets)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = hosts
        .iter()
        .map(|host| {
            let path = dir.join(format!("{host}.log"));
            tokio::spawn(record_one(
                fleet.clone(),
                host.clone(),
                path,
                options,
                stop_rx.clone(),
            ))
        })
        .collect();
    eprintln!(
        "[metal] recording {} boards into {}; interrupt (Ctrl-C) to stop",
        hosts.len(),
        dir.display()
    );
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let _ = stop_tx.send(true);
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(vec!["HOST", "SESSIONS", "BYTES", "LAST ERROR"]);
    let (mut ok, mut failed) = (0, 0);
    for (host, task) in hosts.iter().zip(tasks) {
        let summary = match task.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => Summary {
                last_error: Some(format!("{e:#}")),
                ..Summary::default()
            },
            Err(e) => Summary {
                last_error: Some(e.to_string()),
                ..Summary::default()
            },
        };
        if summary.sessions > 0 {
            ok += 1
        } else {
            failed += 1
        }
        table.add_row(vec![
            host.clone(),
            summary.sessions.to_string(),
            summary.bytes.to_string(),
            summary.last_error.unwrap_or_else(|| "-".into()),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::for_fleet(ok, failed))
}
