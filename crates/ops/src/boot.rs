//! The one-shot boot device (guarded), optionally booting into it now.

use metal_amt::BootOutcome;
use metal_types::{BootDevice, Report};
use serde::Serialize;

use crate::boards::{self, Guard};
use crate::{Config, Error, Progress, report, targets};

/// What setting the boot device did on one board.
#[derive(Debug, Clone, Serialize)]
pub struct BootRow {
    pub next_boot: BootDevice,
    /// `reset` or `on` when the board was booted now.
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

/// The command's name in reports: `boot pxe`, `boot disk --now` ...
pub fn command(device: BootDevice, now: bool) -> String {
    format!("boot {device}{}", if now { " --now" } else { "" })
}

/// `boot DEVICE TARGETS [--now]`.
pub async fn boot(
    config: &Config,
    device: BootDevice,
    now: bool,
    specs: &[String],
    progress: &dyn Progress,
) -> Result<Report<BootRow>, Error> {
    let targets = targets::resolve(config, specs).await?;
    let command = command(device, now);
    let runs = boards::run(
        config,
        &targets,
        Guard::Uuid,
        progress,
        &command,
        move |a| Box::pin(a.boot(device, now)),
    )
    .await?;
    Ok(report::from_runs(&command, runs, BootRow::from))
}
