//! `metal power status|on|off|cycle|reset|soft-off|soft-reset TARGETS` and `metal power-cycle`.

use clap::{Args, Subcommand};
use metal_amt::{PowerChange, PowerStatus, power::describe_value};
use metal_types::PowerAction;
use serde::Serialize;

use super::common::{AmtArgs, print_report, progress, report, resolve_targets};

#[derive(Debug, Args)]
pub struct PowerArgs {
    #[command(subcommand)]
    pub op: PowerOp,
}

#[derive(Debug, Subcommand)]
pub enum PowerOp {
    /// Show each board's power state.
    Status(TargetArgs),
    /// Power on.
    On(TargetArgs),
    /// Power off immediately (hard).
    Off(TargetArgs),
    /// Hard power cycle.
    Cycle(TargetArgs),
    /// Hardware reset.
    Reset(TargetArgs),
    /// Graceful OS shutdown (needs the OS agent on the board).
    SoftOff(TargetArgs),
    /// Graceful OS reboot (needs the OS agent on the board).
    SoftReset(TargetArgs),
}

/// Targets and AMT options.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// IP addresses, CIDR blocks, inventory hostnames, rack:NAME, all, or comma-separated
    /// lists of them.
    #[arg(required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub amt: AmtArgs,
}

/// One row of `power status`.
#[derive(Debug, Serialize)]
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

/// One row of a power change.
#[derive(Debug, Serialize)]
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

pub async fn run(args: PowerArgs) -> anyhow::Result<i32> {
    let (action, targets) = match args.op {
        PowerOp::Status(t) => return status(t).await,
        PowerOp::On(t) => (PowerAction::On, t),
        PowerOp::Off(t) => (PowerAction::Off, t),
        PowerOp::Cycle(t) => (PowerAction::Cycle, t),
        PowerOp::Reset(t) => (PowerAction::Reset, t),
        PowerOp::SoftOff(t) => (PowerAction::SoftOff, t),
        PowerOp::SoftReset(t) => (PowerAction::SoftReset, t),
    };
    change(action, targets).await
}

/// `metal power status`.
pub async fn status(args: TargetArgs) -> anyhow::Result<i32> {
    let targets = resolve_targets(&args.targets).await?;
    let bar = progress(targets.len(), "power status", args.amt.json);
    let runs = super::guard::run(
        &args.amt,
        &targets,
        false,
        |amt| Box::pin(amt.power_status()),
        || bar.inc(1),
    )
    .await?;
    bar.finish_and_clear();
    let report = report("power status", runs, StatusRow::from);
    print_report(&report, args.amt.json, &["POWER", "OFFERS"], |r| {
        vec![r.power.clone(), r.available.join(",")]
    })
}

/// `metal power <action>` and `metal power-cycle`.
pub async fn change(action: PowerAction, args: TargetArgs) -> anyhow::Result<i32> {
    let targets = resolve_targets(&args.targets).await?;
    let bar = progress(targets.len(), &format!("power {action}"), args.amt.json);
    // Mutating: inventory machines are checked for the right board first.
    let runs = super::guard::run(
        &args.amt,
        &targets,
        true,
        move |amt| Box::pin(amt.power(action)),
        || bar.inc(1),
    )
    .await?;
    bar.finish_and_clear();
    let report = report(&format!("power {action}"), runs, ChangeRow::from);
    print_report(&report, args.amt.json, &["BEFORE", "NOW", "RESULT"], |r| {
        let result = if r.changed {
            format!("{} done", r.action)
        } else {
            format!("already {}", r.power)
        };
        vec![r.before.clone(), r.power.clone(), result]
    })
}
