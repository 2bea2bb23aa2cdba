//! Recording many consoles at once (`console --record TARGETS --dir DIR`): one file per
//! board (`DIR/<address>.log`, the [`LineLog`] format), each session reopened with backoff
//! when it drops (a board reset, a lost heartbeat), until told to stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::logfile::LineLog;
use super::session::{Console, ConsoleEvent, ConsoleOptions};
use crate::targets::{self, Resolved};
use crate::{Config, Error};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What recording one board achieved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recording {
    pub host: String,
    pub file: PathBuf,
    pub sessions: u32,
    pub bytes: u64,
    pub last_error: Option<String>,
}

impl Recording {
    /// A board counts as recorded when at least one session opened.
    pub fn ok(&self) -> bool {
        self.sessions > 0
    }
}

async fn record_one(
    config: Arc<Config>,
    target: Resolved,
    path: PathBuf,
    options: ConsoleOptions,
    mut stop: watch::Receiver<bool>,
) -> Result<Recording, Error> {
    let io = Error::io;
    let mut log = LineLog::open(&path).map_err(io(&path))?;
    let mut summary = Recording {
        host: target.host.to_string(),
        file: path.clone(),
        ..Recording::default()
    };
    let mut backoff = Duration::from_secs(1);
    while !*stop.borrow() {
        let opened = tokio::select! {
            r = Console::open_resolved(&config, &target, options) => r,
            _ = stop.changed() => break,
        };
        match opened {
            Ok(mut console) => {
                summary.sessions += 1;
                backoff = Duration::from_secs(1);
                for note in &console.notes {
                    log.note(note).map_err(io(&path))?;
                }
                log.note(&format!("SOL session {} opened", summary.sessions))
                    .map_err(io(&path))?;
                loop {
                    tokio::select! {
                        event = console.next_event() => match event {
                            Ok(ConsoleEvent::Data(data)) => {
                                summary.bytes += data.len() as u64;
                                log.write(&data).map_err(io(&path))?;
                            }
                            Ok(ConsoleEvent::PoweredOn) => {
                                log.note("the system powered on").map_err(io(&path))?
                            }
                            Ok(ConsoleEvent::Closed) => {
                                log.note("the board closed the session; reconnecting")
                                    .map_err(io(&path))?;
                                break;
                            }
                            Err(e) => {
                                log.note(&format!("session lost: {e}; reconnecting"))
                                    .map_err(io(&path))?;
                                summary.last_error = Some(e.to_string());
                                break;
                            }
                        },
                        _ = stop.changed() => {
                            console.close().await;
                            log.note("recording stopped").map_err(io(&path))?;
                            log.close().map_err(io(&path))?;
                            return Ok(summary);
                        }
                    }
                }
            }
            Err(e) => {
                log.note(&format!(
                    "cannot open SOL: {e}; retrying in {} s",
                    backoff.as_secs()
                ))
                .map_err(io(&path))?;
                summary.last_error = Some(e.to_string());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    log.note("recording stopped").map_err(io(&path))?;
    log.close().map_err(io(&path))?;
    Ok(summary)
}

/// Records every board `specs` names into `dir` until `stop` turns true; `started` hears how
/// many boards are being recorded once every task runs. One summary per board, in target
/// order.
pub async fn record(
    config: &Config,
    specs: &[String],
    dir: &Path,
    options: ConsoleOptions,
    stop: watch::Receiver<bool>,
    started: impl FnOnce(usize),
) -> Result<Vec<Recording>, Error> {
    let boards = targets::resolve(config, specs).await?;
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let config = Arc::new(config.clone());
    let tasks: Vec<_> = boards
        .iter()
        .map(|target| {
            let path = dir.join(format!("{}.log", target.host));
            tokio::spawn(record_one(
                config.clone(),
                target.clone(),
                path,
                options,
                stop.clone(),
            ))
        })
        .collect();
    started(boards.len());
    let mut out = Vec::new();
    for (target, task) in boards.iter().zip(tasks) {
        let failed = |why: String| Recording {
            host: target.host.to_string(),
            file: dir.join(format!("{}.log", target.host)),
            last_error: Some(why),
            ..Recording::default()
        };
        out.push(match task.await {
            Ok(Ok(summary)) => summary,
            Ok(Err(e)) => failed(e.to_string()),
            Err(e) => failed(e.to_string()),
        });
    }
    Ok(out)
}
