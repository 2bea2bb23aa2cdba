//! `verify`: factory acceptance of boards against a hardware profile. Per board, in parallel:
//!
//! 1. `amt`: AMT answers with these credentials (the board's UUID and inventory are read).
//! 2. `control-mode`: admin control mode with user consent off for redirection
//!    (`AMT_SetupAndConfigurationService`, `IPS_OptInService`); else PXE and SOL would wait
//!    for a code on the board's screen.
//! 3. `firmware`: the AMT firmware is at least the profile's `amt_min`.
//! 4. `identity`: a UUID and a real chassis serial number.
//! 5. `hardware`: the profile's match rules (memory, disk count and kind, processor).
//! 6. `power`: off, then on again within `power_on_secs`.
//! 7. `sol`: a SOL session opened while the board was off prints output within `sol_secs`
//!    of power-on.
//! 8. `pxe` (with a netboot server): a one-shot PXE boot set over AMT makes the board fetch
//!    its boot script from that server within `pxe_secs`.
//! 9. `burnin-cpu`, `burnin-memory`, `burnin-disk-DEV`, `burnin` (with `--burnin`, when the
//!    server boots the board into the burn-in image): what stress-ng, memtester,
//!    stressapptest and fio reported from inside the board within `burnin_secs`, each PASS,
//!    DEGRADED (under the profile's floor) or FAIL.
//!
//! A check whose precondition failed is skipped with the reason, so a unit fails for its
//! first real fault, not for its consequences. The reports are written by
//! `metal_acceptance`.

mod board;
mod burnin;
mod power;
mod pxe;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use metal_acceptance::{Check, Summary, Unit};
use metal_amt::Amt;
use metal_inventory::HardwareProfile;
use metal_inventory::enroll::is_real_serial;
use metal_types::MacAddr;
use metal_types::text::board_text;
pub use pxe::NetbootServer;

use crate::boards::{self, Guard};
use crate::{Config, Error, Progress, targets};

/// Names of the checks, in the order they run (also the OCP-TV step names).
pub const CHECKS: [&str; 8] = [
    "amt",
    "control-mode",
    "firmware",
    "identity",
    "hardware",
    "power",
    "sol",
    "pxe",
];

/// What a `verify` run found, and where the reports are.
#[derive(Debug, Clone)]
pub struct Verified {
    pub units: Vec<Unit>,
    pub summary: Summary,
    /// `index.html` of the batch.
    pub index: PathBuf,
}

impl Verified {
    /// Whether every unit passed.
    pub fn all_passed(&self) -> bool {
        self.summary.failed == 0
    }
}

/// What `verify` asks of the netboot server.
#[derive(Debug, Clone, Copy, Default)]
pub enum Netboot<'a> {
    /// No server: the pxe check is skipped.
    #[default]
    Off,
    /// `--netboot URL`: the pxe check reads the server's events.
    Pxe(&'a NetbootServer),
    /// `--netboot URL --burnin`: the server also boots the boards into the burn-in image, and
    /// verify waits for its results there.
    Burnin(&'a NetbootServer),
}

impl<'a> Netboot<'a> {
    /// From `--netboot` (the server, when given) and `--burnin`.
    pub fn new(server: Option<&'a NetbootServer>, burnin: bool) -> Result<Netboot<'a>, Error> {
        match (server, burnin) {
            (None, false) => Ok(Netboot::Off),
            (Some(s), false) => Ok(Netboot::Pxe(s)),
            (Some(s), true) => Ok(Netboot::Burnin(s)),
            (None, true) => Err(Error::Usage(
                "--burnin needs the netboot server (--netboot URL) the results are reported to"
                    .into(),
            )),
        }
    }

    fn server(self) -> Option<&'a NetbootServer> {
        match self {
            Netboot::Off => None,
            Netboot::Pxe(s) | Netboot::Burnin(s) => Some(s),
        }
    }
}

/// `verify TARGETS --profile P --report DIR [--netboot URL [--burnin]]`.
pub async fn verify(
    config: &Config,
    specs: &[String],
    profile: &str,
    report: &Path,
    netboot: Netboot<'_>,
    progress: &dyn Progress,
) -> Result<Verified, Error> {
    let profile = config.profiles.profile(profile)?;
    let targets = targets::resolve(config, specs).await?;
    // A server that cannot be read (address, token) is the operator's mistake, told before any
    // board is touched rather than as a failed check on every unit.
    if let Some(server) = netboot.server() {
        server
            .events(MacAddr([0; 6]))
            .await
            .map_err(|e| Error::Netboot(format!("the netboot server {}: {e}", server.url())))?;
    }
    let server = netboot.server().cloned().map(Arc::new);
    let burnin = matches!(netboot, Netboot::Burnin(_));
    // The power check waits at most the profile's limit for each change.
    let mut config = config.clone();
    config.power_timeout = Duration::from_secs(profile.acceptance.power_on_secs.into());
    let plan = Arc::new(profile);
    let op_plan = Arc::clone(&plan);
    let runs = boards::run(
        &config,
        &targets,
        Guard::Uuid,
        progress,
        "verify",
        move |amt| {
            let plan = Arc::clone(&op_plan);
            let server = server.clone();
            Box::pin(async move { Ok(unit(amt, &plan, server.as_deref(), burnin).await) })
        },
    )
    .await?;
    let units: Vec<Unit> = runs
        .into_iter()
        .zip(&targets)
        .map(|(run, target)| match run.result {
            Ok(unit) => unit,
            Err(e) => {
                unreachable_unit(&target.host.to_string(), &plan.name, &e.to_string(), burnin)
            }
        })
        .collect();
    let (summary, index) =
        metal_acceptance::write_batch(report, &plan.name, &units, env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| {
                Error::Usage(format!("writing the reports in {}: {e}", report.display()))
            })?;
    Ok(Verified {
        units,
        summary,
        index,
    })
}

/// A board AMT did not answer for: the first check fails and the rest are skipped (`burnin`
/// too, when asked for).
fn unreachable_unit(host: &str, profile: &str, why: &str, burnin: bool) -> Unit {
    let now = std::time::SystemTime::now();
    let mut checks = vec![Check::fail(
        "amt",
        format!(
            "AMT did not answer with these credentials: {}",
            board_text(why)
        ),
    )];
    checks.extend(
        CHECKS[1..]
            .iter()
            .map(|c| Check::skipped(c, "AMT did not answer")),
    );
    if burnin {
        checks.push(Check::skipped("burnin", "AMT did not answer"));
    }
    Unit {
        host: host.to_string(),
        profile: profile.to_string(),
        uuid: None,
        serial: None,
        board: None,
        amt_version: None,
        checks,
        started: now,
        finished: now,
    }
}

/// Every check on one board. AMT errors after the first answer become failed checks.
async fn unit(
    amt: &mut Amt,
    profile: &HardwareProfile,
    server: Option<&NetbootServer>,
    burnin: bool,
) -> Unit {
    let host = amt.wsman().endpoint().host.clone();
    let started = std::time::SystemTime::now();
    let hw = match amt.hardware().await {
        Ok(hw) => hw,
        Err(e) => return unreachable_unit(&host, &profile.name, &e.to_string(), burnin),
    };
    let mut u = Unit {
        host: host.clone(),
        profile: profile.name.clone(),
        uuid: Some(hw.uuid.clone()),
        serial: is_real_serial(&hw.chassis.serial).then(|| hw.chassis.serial.clone()),
        board: Some((hw.board.manufacturer.clone(), hw.board.model.clone())),
        amt_version: hw.amt_version.clone(),
        checks: Vec::new(),
        started,
        finished: started,
    };
    u.checks.push(Check::pass(
        "amt",
        format!("AMT answered; system UUID {}", hw.uuid),
    ));
    let unattended = board::control_mode(amt, &mut u).await;
    u.checks.push(board::firmware(&hw, profile));
    u.checks.push(board::identity(&hw));
    u.checks.push(board::hardware(&hw, profile));
    let powered = power::power_and_sol(amt, &mut u, profile, unattended).await;
    let start = pxe::PxeStart {
        server,
        mac: hw.mac,
        unattended,
        powered,
    };
    let (pxe, script_at_ms) = pxe::pxe(amt, start, profile).await;
    u.checks.push(pxe);
    if burnin {
        match (server, hw.mac, script_at_ms) {
            (Some(server), Some(mac), Some(script_at_ms)) => {
                let start = burnin::BurninStart {
                    server,
                    mac,
                    script_at_ms,
                    disks: hw.disks.len(),
                };
                u.checks
                    .extend(burnin::burnin(start, &profile.acceptance).await);
            }
            _ => u.checks.push(Check::skipped(
                "burnin",
                "the board did not PXE-boot from the netboot server (see pxe)",
            )),
        }
    }
    u.finished = std::time::SystemTime::now();
    u
}
