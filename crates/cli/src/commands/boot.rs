//! `metal boot pxe|disk TARGETS [--now]`: the next boot (only) from the network or the disk.

use clap::{Args, ValueEnum};
use metal_amt::BootOutcome;
use metal_types::BootDevice;
use serde::Serialize;

use super::common::{print_report, progress, report, resolve_targets};
use super::power::TargetArgs;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Device {
    Pxe,
    Disk,
}

#[derive(Debug, Args)]
pub struct BootArgs {
    /// Boot device for the next boot.
    pub device: Device,
    /// Boot into it now: power on a board that is off, reset one that is on.
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub targets: TargetArgs,
}

#[derive(Debug, Serialize)]
pub struct BootRow {
    pub next_boot: BootDevice,
    /// `reset` or `on` when `--now` was given.
    pub power_action: Option<String>,
    pub power: String,
}

impl From<BootOutcome> for BootRow {
    fn from(o: BootOutcome) -> Self {
        Self {
            next_boot: o.device,
            power_action: o.power_action.map(|a| a.to_string()),
            power: o.power.to_string(),
        }
    }
}

pub async fn run(args: BootArgs) -> anyhow::Result<i32> {
    let device = match args.device {
        Device::Pxe => BootDevice::Pxe,
        Device::Disk => BootDevice::Disk,
    };
    let now = args.now;
    let amt = &args.targets.amt;
    let targets = resolve_targets(&args.targets.targets).await?;
    let command = format!("boot {device}{}", if now { " --now" } else { "" });
    let bar = progress(targets.len(), &command, amt.json);
    // Mutating: inventory machines are checked for the right board first.
    let runs = super::guard::run(
        amt,
        &targets,
        true,
        move |a| Box::pin(a.boot(device, now)),
        || bar.inc(1),
    )
    .await?;
    bar.finish_and_clear();
    let report = report(&command, runs, BootRow::from);
    print_report(&report, amt.json, &["NEXT BOOT", "ACTION", "POWER"], |r| {
        vec![
            format!("{} (one-shot)", r.next_boot),
            r.power_action.clone().unwrap_or_else(|| "-".into()),
            r.power.clone(),
        ]
    })
}
