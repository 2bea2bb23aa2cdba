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
//!
//! A check whose precondition failed is skipped with the reason, so a unit fails for its
//! first real fault, not for its consequences. The reports are written by
//! `metal_acceptance`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metal_acceptance::{Check, Limit, Measurement, Summary, Unit};
use metal_amt::sol::{SolEvent, SolOptions};
use metal_amt::{Amt, Hardware};
use metal_inventory::enroll::is_real_serial;
use metal_inventory::{FirmwareVersion, HardwareProfile};
use metal_types::PowerAction;
use metal_types::text::board_text;

use crate::boards::{self, Guard};
use crate::{Config, Error, Progress, targets};

/// Names of the checks, in the order they run (also the OCP-TV step names).
pub const CHECKS: [&str; 7] = [
    "amt",
    "control-mode",
    "firmware",
    "identity",
    "hardware",
    "power",
    "sol",
];

/// Bytes of console output that count as "the console works".
const SOL_MIN_BYTES: usize = 16;

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

/// `verify TARGETS --profile P --report DIR`.
pub async fn verify(
    config: &Config,
    specs: &[String],
    profile: &str,
    report: &Path,
    progress: &dyn Progress,
) -> Result<Verified, Error> {
    let profile = config.profiles.profile(profile)?;
    let targets = targets::resolve(config, specs).await?;
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
            Box::pin(async move { Ok(unit(amt, &plan).await) })
        },
    )
    .await?;
    let units: Vec<Unit> = runs
        .into_iter()
        .zip(&targets)
        .map(|(run, target)| match run.result {
            Ok(unit) => unit,
            Err(e) => unreachable_unit(&target.host.to_string(), &plan.name, &e.to_string()),
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

/// A board AMT did not answer for: the first check fails and the rest are skipped.
fn unreachable_unit(host: &str, profile: &str, why: &str) -> Unit {
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
async fn unit(amt: &mut Amt, profile: &HardwareProfile) -> Unit {
    let host = amt.wsman().endpoint().host.clone();
    let started = std::time::SystemTime::now();
    let hw = match amt.hardware().await {
        Ok(hw) => hw,
        Err(e) => return unreachable_unit(&host, &profile.name, &e.to_string()),
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
    let unattended = control_mode(amt, &mut u).await;
    u.checks.push(firmware(&hw, profile));
    u.checks.push(identity(&hw));
    u.checks.push(hardware_check(&hw, profile));
    power_and_sol(amt, &mut u, profile, unattended).await;
    u.finished = std::time::SystemTime::now();
    u
}

/// Records the control-mode check; returns whether SOL may be tried.
async fn control_mode(amt: &mut Amt, u: &mut Unit) -> bool {
    match amt.activation().await {
        Err(e) => {
            u.checks.push(Check::fail(
                "control-mode",
                format!(
                    "could not read the control mode: {}",
                    board_text(&e.to_string())
                ),
            ));
            false
        }
        Ok(a) => {
            let mode = serde_json::to_value(a.mode).unwrap_or_default();
            let consent = serde_json::to_value(a.consent).unwrap_or_default();
            let check = match a.unattended_blocker() {
                Some(why) => Check::fail("control-mode", why),
                None => Check::pass(
                    "control-mode",
                    format!(
                        "admin control mode, user consent {}",
                        consent.as_str().unwrap_or("?")
                    ),
                ),
            };
            u.checks.push(
                check
                    .with(
                        Measurement::new("control_mode", mode, None)
                            .limited(Limit::Equals("acm".into())),
                    )
                    .with(Measurement::new("user_consent", consent, None)),
            );
            a.unattended_blocker().is_none()
        }
    }
}

fn firmware(hw: &Hardware, profile: &HardwareProfile) -> Check {
    let Some(reported) = hw.amt_version.as_deref() else {
        return Check::fail("firmware", "the board reports no AMT firmware version");
    };
    let shown = board_text(reported);
    let measured = Measurement::new("amt_version", shown.as_str(), None);
    let Some(min) = &profile.acceptance.amt_min else {
        return Check::pass(
            "firmware",
            format!("AMT {shown} (the profile sets no minimum)"),
        )
        .with(measured);
    };
    let measured = Measurement::new("amt_min", min.to_string(), None);
    let check = |c: Check| {
        c.with(Measurement::new("amt_version", shown.as_str(), None))
            .with(measured.clone())
    };
    match reported.parse::<FirmwareVersion>() {
        Ok(v) if v.at_least(min) => {
            check(Check::pass("firmware", format!("AMT {v}, at least {min}")))
        }
        Ok(v) => check(Check::fail(
            "firmware",
            format!("AMT {v} is older than {min}"),
        )),
        Err(e) => check(Check::fail("firmware", e)),
    }
}

fn identity(hw: &Hardware) -> Check {
    let nil = hw.uuid.chars().all(|c| c == '0' || c == '-')
        || hw.uuid.chars().all(|c| c == 'f' || c == 'F' || c == '-');
    let serial = board_text(&hw.chassis.serial);
    if hw.uuid.is_empty() || nil {
        Check::fail("identity", format!("no usable system UUID ({:?})", hw.uuid))
    } else if !is_real_serial(&hw.chassis.serial) {
        Check::fail(
            "identity",
            format!("the chassis serial number is a placeholder ({serial:?})"),
        )
    } else {
        Check::pass("identity", format!("UUID {}, serial {serial}", hw.uuid))
    }
}

fn hardware_check(hw: &Hardware, profile: &HardwareProfile) -> Check {
    let gib = hw.memory_bytes as f64 / f64::from(1u32 << 30);
    let cpus: Vec<String> = hw.cpus.iter().map(|c| board_text(&c.model)).collect();
    let ssds = hw.disks.iter().filter(|d| d.ssd).count();
    let measured = |c: Check| {
        c.with(Measurement::new(
            "memory",
            (gib * 100.0).round() / 100.0,
            Some("GiB"),
        ))
        .with(Measurement::new("disks", hw.disks.len() as u64, None))
        .with(Measurement::new("ssds", ssds as u64, None))
        .with(Measurement::new("processors", cpus.join("; "), None))
    };
    match profile.mismatch(hw) {
        Some(why) => measured(Check::fail(
            "hardware",
            format!("not {}: {}", profile.name, board_text(&why)),
        )),
        None => measured(Check::pass(
            "hardware",
            format!("matches {} ({})", profile.name, profile.description),
        )),
    }
}

/// Power off, a SOL session while off (when the board may be run unattended), power on, and
/// the console's first output.
async fn power_and_sol(amt: &mut Amt, u: &mut Unit, profile: &HardwareProfile, sol_allowed: bool) {
    let limit = profile.acceptance.power_on_secs;
    let off_started = Instant::now();
    if let Err(e) = amt.power(PowerAction::Off).await {
        u.checks.push(Check::fail(
            "power",
            format!(
                "the board did not power off: {}",
                board_text(&e.to_string())
            ),
        ));
        u.checks
            .push(Check::skipped("sol", "the power check failed"));
        return;
    }
    let off_secs = off_started.elapsed().as_secs_f64();
    let mut sol = None;
    let mut sol_check = None;
    if sol_allowed {
        let options = SolOptions::default();
        match amt.open_sol(options).await {
            Ok((session, _)) => sol = Some(session),
            Err(e) => {
                sol_check = Some(Check::fail(
                    "sol",
                    format!("no SOL session: {}", board_text(&e.to_string())),
                ));
            }
        }
    } else {
        sol_check = Some(Check::skipped(
            "sol",
            "user consent would block SOL (see control-mode)",
        ));
    }
    let on_started = Instant::now();
    let on = amt.power(PowerAction::On).await;
    let on_secs = on_started.elapsed().as_secs_f64();
    let timing = |c: Check| {
        c.with(Measurement::new(
            "power_off_seconds",
            round(off_secs),
            Some("s"),
        ))
        .with(
            Measurement::new("power_on_seconds", round(on_secs), Some("s"))
                .limited(Limit::AtMost(f64::from(limit))),
        )
    };
    match on {
        Ok(_) => u.checks.push(timing(Check::pass(
            "power",
            format!("off in {off_secs:.1} s, on again in {on_secs:.1} s (limit {limit} s)"),
        ))),
        Err(e) => {
            u.checks.push(timing(Check::fail(
                "power",
                format!(
                    "the board did not power back on within {limit} s: {}",
                    board_text(&e.to_string())
                ),
            )));
            if let Some(s) = sol {
                s.close().await;
            }
            u.checks
                .push(sol_check.unwrap_or_else(|| Check::skipped("sol", "the board is off")));
            return;
        }
    }
    let check = match (sol, sol_check) {
        (_, Some(c)) => c,
        (Some(mut session), None) => {
            let wait = Duration::from_secs(profile.acceptance.sol_secs.into());
            let c = first_output(&mut session, wait, on_started).await;
            session.close().await;
            c
        }
        (None, None) => Check::fail("sol", "no SOL session"),
    };
    u.checks.push(check);
}

fn round(secs: f64) -> f64 {
    (secs * 100.0).round() / 100.0
}

/// Waits for console output after power-on.
async fn first_output(
    session: &mut metal_amt::sol::SolSession,
    wait: Duration,
    powered_on: Instant,
) -> Check {
    let deadline = tokio::time::Instant::from_std(powered_on + wait);
    let mut seen: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, session.next_event()).await {
            Err(_) => {
                return Check::fail(
                    "sol",
                    format!(
                        "{} bytes of console output within {} s of power-on (at least {SOL_MIN_BYTES} needed)",
                        seen.len(),
                        wait.as_secs()
                    ),
                );
            }
            Ok(Err(e)) => {
                return Check::fail(
                    "sol",
                    format!("the SOL session failed: {}", board_text(&e.to_string())),
                );
            }
            Ok(Ok(SolEvent::Closed)) => {
                return Check::fail("sol", "the board closed the SOL session");
            }
            Ok(Ok(SolEvent::Controls { .. })) => {}
            Ok(Ok(SolEvent::Data(data))) => {
                seen.extend_from_slice(&data);
                if seen.len() >= SOL_MIN_BYTES {
                    let secs = powered_on.elapsed().as_secs_f64();
                    let text = String::from_utf8_lossy(&seen);
                    let line = text
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .unwrap_or_default();
                    let line = board_text(&line.chars().take(80).collect::<String>());
                    return Check::pass(
                        "sol",
                        format!("console printed {line:?} {secs:.1} s after power-on"),
                    )
                    .with(
                        Measurement::new("first_output_seconds", round(secs), Some("s"))
                            .limited(Limit::AtMost(wait.as_secs_f64())),
                    );
                }
            }
        }
    }
}
