//! `metal console`: the serial console of a board over AMT Serial-over-LAN.
//!
//! - `metal console HOST`: interactive, raw terminal; `~.` at the start of a line leaves.
//! - `metal console HOST --expect REGEX --timeout SECS`: exit 0 once the board prints a match.
//! - `metal console --record TARGETS --dir DIR`: record many boards, one file each,
//!   reconnecting when a session drops, until interrupted.

mod expect;
mod interactive;
mod logfile;
mod record;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use metal_amt::sol::{SolOptions, SolSession};
use metal_amt::{Amt, Fleet};

use super::common::AmtArgs;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The board's IP address (not with --record).
    #[arg(required_unless_present = "record", conflicts_with = "record")]
    pub host: Option<String>,
    /// Also write everything the board prints to FILE, one timestamped line per line.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Exit 0 as soon as the board prints a line matching REGEX (non-interactive).
    #[arg(long, value_name = "REGEX")]
    pub expect: Option<String>,
    /// Seconds to wait for --expect before failing.
    #[arg(long, default_value_t = 60.0, requires = "expect")]
    pub timeout: f64,
    /// Record these boards (IPs, CIDRs, lists) into --dir, one file per board.
    #[arg(long, value_name = "TARGETS", num_args = 1.., requires = "dir")]
    pub record: Option<Vec<String>>,
    /// Directory for --record files (created if missing).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seconds without data or heartbeat after which a session counts as lost.
    #[arg(long, default_value_t = 15.0)]
    pub heartbeat_timeout: f64,
    #[command(flatten)]
    pub amt: AmtArgs,
}

impl ConsoleArgs {
    fn sol_options(&self) -> anyhow::Result<SolOptions> {
        if !(self.heartbeat_timeout.is_finite() && self.heartbeat_timeout >= 1.0) {
            bail!("--heartbeat-timeout must be at least 1 second");
        }
        let heartbeat = Duration::from_secs_f64((self.heartbeat_timeout / 4.0).clamp(0.5, 2.0));
        Ok(SolOptions {
            dead_after: Duration::from_secs_f64(self.heartbeat_timeout),
            heartbeat,
            ..SolOptions::default()
        })
    }
}

pub async fn run(args: ConsoleArgs) -> anyhow::Result<i32> {
    let options = args.sol_options()?;
    let fleet = args.amt.fleet()?;
    if let Some(targets) = &args.record {
        let dir = args.dir.clone().expect("clap requires --dir with --record");
        return record::run(&fleet, targets, &dir, options).await;
    }
    let host = args
        .host
        .clone()
        .expect("clap requires HOST without --record");
    let hosts = super::common::expand_targets(std::slice::from_ref(&host))?;
    if hosts.len() != 1 {
        bail!("console takes one board, and {host} names {}", hosts.len());
    }
    match &args.expect {
        Some(pattern) => {
            let regex = regex::Regex::new(pattern)
                .map_err(|e| anyhow::anyhow!("--expect {pattern:?}: {e}"))?;
            if !(args.timeout.is_finite() && args.timeout > 0.0) {
                bail!("--timeout must be a positive number of seconds");
            }
            expect::run(
                &fleet,
                &hosts[0],
                &regex,
                Duration::from_secs_f64(args.timeout),
                args.log.as_deref(),
                options,
            )
            .await
        }
        None => interactive::run(&fleet, &hosts[0], args.log.as_deref(), options).await,
    }
}

/// Opens a SOL session on `host`, enabling SOL first where needed, and says what it changed.
pub async fn connect(
    fleet: &Fleet,
    host: &str,
    options: SolOptions,
) -> Result<SolSession, metal_amt::Error> {
    let mut amt: Amt = fleet.session(host);
    let (session, readiness) = amt.open_sol(options).await?;
    if readiness.enabled_sol {
        eprintln!("[metal] {host}: SOL was disabled in AMT_RedirectionService; enabled it");
    }
    if readiness.enabled_listener {
        eprintln!("[metal] {host}: the redirection listener was off; turned it on");
    }
    Ok(session)
}
