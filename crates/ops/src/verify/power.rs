//! The power round trip and the console's first output over SOL.

use std::time::{Duration, Instant};

use metal_acceptance::{Check, Limit, Measurement, Unit};
use metal_amt::Amt;
use metal_amt::sol::{SolEvent, SolOptions};
use metal_inventory::HardwareProfile;
use metal_types::PowerAction;
use metal_types::text::board_text;

/// Bytes of console output that count as "the console works".
const SOL_MIN_BYTES: usize = 16;

/// Power off, a SOL session while off (when the board may be run unattended), power on, and
/// the console's first output. Returns whether the power check passed.
pub(super) async fn power_and_sol(
    amt: &mut Amt,
    u: &mut Unit,
    profile: &HardwareProfile,
    sol_allowed: bool,
) -> bool {
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
        return false;
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
            return false;
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
    true
}

pub(super) fn round(secs: f64) -> f64 {
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
