//! The checks that only read what AMT reports: control mode and consent, firmware, identity,
//! hardware.

use metal_acceptance::{Check, Limit, Measurement, Unit};
use metal_amt::{Amt, Hardware};
use metal_inventory::enroll::is_real_serial;
use metal_inventory::{FirmwareVersion, HardwareProfile};
use metal_types::text::board_text;

/// Records the control-mode check; returns whether SOL may be tried.
pub(super) async fn control_mode(amt: &mut Amt, u: &mut Unit) -> bool {
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

pub(super) fn firmware(hw: &Hardware, profile: &HardwareProfile) -> Check {
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

pub(super) fn identity(hw: &Hardware) -> Check {
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

pub(super) fn hardware(hw: &Hardware, profile: &HardwareProfile) -> Check {
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
