//! A unit's checks as OCP Test & Validation output (ocp-diag-core `json_spec`, version 2.0):
//! one JSON artifact per line, written with the `ocptv` crate.
//!
//! The mapping:
//! - the unit is the DUT (`dutInfo`): its id is the serial number (else the AMT address),
//!   with the board as hardware info and the AMT firmware as software info;
//! - each check is a test step named like the check; what it measured are `measurement`
//!   artifacts with validators for their limits; its verdict is a `diagnosis` (PASS or FAIL)
//!   whose message is the evidence; a skipped check ends with status SKIP and its reason as
//!   a log line;
//! - the run's *status* says whether the checks could be run (COMPLETE), apart from the
//!   unit's *result* (PASS or FAIL), as the specification keeps them apart.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ocptv::output as tv;
use serde_json::Value;

use crate::error::Error;
use crate::model::{Check, Limit, Unit, Verdict};

/// The diagnostic's name in every report.
pub const DIAGNOSTIC: &str = "metal verify";

/// The artifacts' clock: set to when each part of the run happened, since the report is
/// written after the checks.
#[derive(Clone)]
struct Clock(Arc<Mutex<SystemTime>>);

impl Clock {
    fn set(&self, at: SystemTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl tv::TimestampProvider for Clock {
    fn now(&self) -> chrono::DateTime<chrono_tz::Tz> {
        let at = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        chrono::DateTime::<chrono::Utc>::from(at).with_timezone(&chrono_tz::UTC)
    }
}

/// Renders `unit` as OCP-TV JSON lines (each ends with a newline).
pub async fn render(unit: &Unit, version: &str) -> Result<String, Error> {
    let lines = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let clock = Clock(Arc::new(Mutex::new(unit.started)));
    let config = tv::Config::builder()
        .with_buffer_output(Arc::clone(&lines))
        .with_timestamp_provider(Box::new(clock.clone()))
        .build();
    let mut dut = tv::DutInfo::builder(&dut_id(unit))
        .name(&unit.host)
        .add_metadata("amt_address", unit.host.as_str())
        .add_metadata("profile", unit.profile.as_str());
    if let Some(uuid) = &unit.uuid {
        dut = dut.add_metadata("uuid", uuid.as_str());
    }
    if let Some((maker, model)) = &unit.board {
        dut = dut.add_platform_info(tv::PlatformInfo::new(&format!("{maker} {model}")));
    }
    let mut dut = dut.build();
    let board = unit.board.as_ref().map(|(maker, model)| {
        let mut hw = tv::HardwareInfo::builder("board")
            .manufacturer(maker)
            .part_no(model);
        if let Some(serial) = &unit.serial {
            hw = hw.serial_no(serial);
        }
        dut.add_hardware_info(hw.build())
    });
    if let Some(v) = &unit.amt_version {
        dut.add_software_info(
            tv::SoftwareInfo::builder("Intel AMT")
                .version(v)
                .software_type(tv::SoftwareType::Firmware)
                .build(),
        );
    }
    let run = tv::TestRun::builder(DIAGNOSTIC, version)
        .config(config)
        .add_parameter("profile", unit.profile.as_str())
        .add_parameter("host", unit.host.as_str())
        .build()
        .start(dut)
        .await?;
    for check in &unit.checks {
        clock.set(check.at);
        step(&run, check, board.as_ref()).await?;
    }
    clock.set(unit.finished);
    let result = if unit.passed() {
        tv::TestResult::Pass
    } else {
        tv::TestResult::Fail
    };
    run.end(tv::TestStatus::Complete, result).await?;
    let lines = lines.lock().await;
    let mut out = String::new();
    for line in lines.iter() {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The DUT id: the serial number when the board reports a real one, else its address.
fn dut_id(unit: &Unit) -> String {
    unit.serial.clone().unwrap_or_else(|| unit.host.clone())
}

/// The end of a degraded check's diagnosis verdict (`burnin-disk-sda-degraded`).
pub const DEGRADED_SUFFIX: &str = "degraded";

async fn step(
    run: &tv::StartedTestRun,
    check: &Check,
    board: Option<&tv::DutHardwareInfo>,
) -> Result<(), Error> {
    let step = run.add_step(&check.name).start().await?;
    for m in &check.measurements {
        let mut b = tv::Measurement::builder(&m.name, m.value.clone());
        if let Some(unit) = &m.unit {
            b = b.unit(unit);
        }
        if let Some(limit) = &m.limit {
            let (kind, value) = match limit {
                Limit::AtLeast(v) => (tv::ValidatorType::GreaterThanOrEqual, Value::from(*v)),
                Limit::AtMost(v) => (tv::ValidatorType::LessThanOrEqual, Value::from(*v)),
                Limit::Equals(v) => (tv::ValidatorType::Equal, v.clone()),
            };
            b = b.add_validator(tv::Validator::builder(kind, value).build());
        }
        if let Some(hw) = board {
            b = b.hardware_info(hw);
        }
        step.add_measurement_detail(b.build()).await?;
    }
    let status = match check.verdict {
        Verdict::Skipped => {
            step.add_log(tv::LogSeverity::Info, &check.evidence).await?;
            tv::TestStatus::Skip
        }
        Verdict::Pass | Verdict::Fail | Verdict::Degraded => {
            // OCP-TV's diagnosis types are PASS, FAIL and UNKNOWN; a degraded component passed
            // its test, so its diagnosis is a PASS whose verdict says `degraded`, with a
            // warning log beside it.
            let (kind, suffix) = match check.verdict {
                Verdict::Fail => (tv::DiagnosisType::Fail, "fail"),
                Verdict::Degraded => {
                    step.add_log(tv::LogSeverity::Warning, &check.evidence)
                        .await?;
                    (tv::DiagnosisType::Pass, DEGRADED_SUFFIX)
                }
                _ => (tv::DiagnosisType::Pass, "pass"),
            };
            let mut d = tv::Diagnosis::builder(&format!("{}-{suffix}", check.name), kind)
                .message(&check.evidence);
            if let Some(hw) = board {
                d = d.hardware_info(hw);
            }
            step.add_diagnosis_detail(d.build()).await?;
            tv::TestStatus::Complete
        }
    };
    step.end(status).await?;
    Ok(())
}
