//! Power: the state of boards, and changing it (guarded).

use metal_amt::power::describe_value;
use metal_amt::{PowerChange, PowerStatus};
use metal_inventory::Store;
use metal_types::{HostOutcome, PowerAction, Report};
use serde::Serialize;

use crate::boards::{self, Guard};
use crate::{Config, Error, Progress, Silent, metrics, report, targets};

/// One board's power state and the changes it offers now.
#[derive(Debug, Clone, Serialize)]
pub struct StatusRow {
    pub power: String,
    pub available: Vec<String>,
}

impl From<PowerStatus> for StatusRow {
    fn from(s: PowerStatus) -> Self {
        Self {
            power: s.power.to_string(),
            available: s
                .available
                .iter()
                .map(|v| describe_value(*v).to_string())
                .collect(),
        }
    }
}

/// What a power change did on one board.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    pub action: String,
    pub before: String,
    pub power: String,
    pub changed: bool,
}

impl From<PowerChange> for ChangeRow {
    fn from(c: PowerChange) -> Self {
        Self {
            action: c.action.to_string(),
            before: c.before.to_string(),
            power: c.power.to_string(),
            changed: c.changed,
        }
    }
}

/// `power status TARGETS`.
pub async fn status(
    config: &Config,
    specs: &[String],
    progress: &dyn Progress,
) -> Result<Report<StatusRow>, Error> {
    let targets = targets::resolve(config, specs).await?;
    let runs = boards::run(
        config,
        &targets,
        Guard::None,
        progress,
        "power status",
        |a| Box::pin(a.power_status()),
    )
    .await?;
    Ok(report::from_runs("power status", runs, StatusRow::from))
}

/// `power ACTION TARGETS`: inventory machines are checked for the right board first.
pub async fn change(
    config: &Config,
    action: PowerAction,
    specs: &[String],
    progress: &dyn Progress,
) -> Result<Report<ChangeRow>, Error> {
    let targets = targets::resolve(config, specs).await?;
    let command = format!("power {action}");
    let runs = boards::run(
        config,
        &targets,
        Guard::Uuid,
        progress,
        &command,
        move |a| Box::pin(a.power(action)),
    )
    .await?;
    let report = report::from_runs(&command, runs, ChangeRow::from);
    for h in &report.hosts {
        metrics::power_action(&action.to_string(), h.ok);
    }
    Ok(report)
}

/// What [`operate`] did to one machine.
#[derive(Debug, Clone, Serialize)]
pub struct Operated {
    pub hostname: String,
    pub action: String,
    /// The change, or why it failed.
    pub outcome: Result<ChangeRow, String>,
}

/// Power `action` on inventory machine `host` (hostname, address or UUID), with the UUID
/// check, logged in its event log as done by `actor` because of `why` (the dashboard's
/// operator, a watchdog rung), whether it worked or not.
///
/// The board workflows' futures are not provably `Send` (rustc cannot see through their
/// higher-ranked closures) and a server's handlers must be, so the work runs on a blocking
/// thread of the current runtime and this future only waits for it.
pub async fn operate(
    config: &Config,
    store: &Store,
    action: PowerAction,
    host: &str,
    actor: &str,
    why: &str,
) -> Result<Operated, Error> {
    let runtime = tokio::runtime::Handle::current();
    let (config, store) = (config.clone(), store.clone());
    let (host, actor, why) = (host.to_string(), actor.to_string(), why.to_string());
    tokio::task::spawn_blocking(move || {
        runtime.block_on(operate_here(&config, &store, action, &host, &actor, &why))
    })
    .await
    .map_err(|e| Error::Usage(format!("power {action}: {e}")))?
}

async fn operate_here(
    config: &Config,
    store: &Store,
    action: PowerAction,
    host: &str,
    actor: &str,
    why: &str,
) -> Result<Operated, Error> {
    let machine = store
        .machine(host)
        .await?
        .ok_or_else(|| metal_inventory::Error::NotFound(host.to_string()))?;
    let changed = change(
        config,
        action,
        std::slice::from_ref(&machine.hostname),
        &Silent,
    )
    .await;
    let mut report = match changed {
        Ok(report) => report,
        Err(e) => {
            // The attempt is logged even when it could not start (no credentials, say).
            let line = format!("power {action} failed: {e} ({why})");
            store.note(&machine.hostname, actor, &line).await?;
            return Err(e);
        }
    };
    let outcome = match report.hosts.pop().map(|h| h.outcome) {
        Some(HostOutcome::Ok(row)) => Ok(row),
        Some(HostOutcome::Failed { error }) => Err(error.message),
        None => Err("no board answered for it".to_string()),
    };
    let line = match &outcome {
        Ok(row) => format!("power {action}: {} -> {} ({why})", row.before, row.power),
        Err(e) => format!("power {action} failed: {e} ({why})"),
    };
    store.note(&machine.hostname, actor, &line).await?;
    Ok(Operated {
        hostname: machine.hostname,
        action: action.to_string(),
        outcome,
    })
}
