//! Reads OCP-TV JSON lines back into what a printable page shows. The HTML is made from the
//! JSON report, never from the checks directly, so the page cannot say what the JSON does not.
//!
//! Artifacts (ocp-diag-core `json_spec/output`): `schemaVersion`; `testRunArtifact` with
//! `testRunStart` (`name`, `version`, `dutInfo`), `log`, `error`, `testRunEnd` (`status`,
//! `result`); `testStepArtifact` with a `testStepId` and one of `testStepStart` (`name`),
//! `measurement` (`name`, `value`, `unit`, `validators`), `diagnosis` (`verdict`, `type`,
//! `message`), `log` (`severity`, `message`), `testStepEnd` (`status`).

use serde_json::Value;

use crate::error::Error;

/// The largest report read back (a unit's report is a few KiB).
pub const MAX_REPORT_BYTES: usize = 4 << 20;

/// One report, as a page shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub diagnostic: String,
    pub version: String,
    pub dut_id: String,
    pub dut_name: String,
    pub metadata: Vec<(String, String)>,
    pub platform: Vec<String>,
    pub software: Vec<(String, String)>,
    pub hardware: Vec<(String, String)>,
    pub started: String,
    pub ended: String,
    /// The run's status (COMPLETE, ERROR, SKIP): whether the checks could run.
    pub status: String,
    /// The unit's result (PASS, FAIL, NOT_APPLICABLE).
    pub result: String,
    pub steps: Vec<Step>,
}

/// One test step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub status: String,
    pub measurements: Vec<MeasurementRow>,
    pub diagnoses: Vec<DiagnosisRow>,
    pub logs: Vec<String>,
}

impl Step {
    /// PASS, DEGRADED, FAIL or SKIP, as the step's outcome reads.
    pub fn outcome(&self) -> &str {
        let degraded = format!("-{}", crate::ocptv_json::DEGRADED_SUFFIX);
        if self.status == "SKIP" {
            "SKIP"
        } else if self.diagnoses.iter().any(|d| d.kind == "FAIL") {
            "FAIL"
        } else if self
            .diagnoses
            .iter()
            .any(|d| d.kind == "PASS" && d.verdict.ends_with(&degraded))
        {
            "DEGRADED"
        } else if self.diagnoses.iter().any(|d| d.kind == "PASS") {
            "PASS"
        } else {
            "UNKNOWN"
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasurementRow {
    pub name: String,
    pub value: String,
    pub unit: String,
    pub limits: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnosisRow {
    pub kind: String,
    pub verdict: String,
    pub message: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn field(v: &Value, key: &str) -> String {
    v.get(key).map(text).unwrap_or_default()
}

/// Parses a report; an error names the line.
pub fn parse(json_lines: &str) -> Result<Report, Error> {
    if json_lines.len() > MAX_REPORT_BYTES {
        return Err(Error::Report(format!(
            "the report is over {MAX_REPORT_BYTES} bytes"
        )));
    }
    let mut report = Report::default();
    let mut saw_end = false;
    for (n, line) in json_lines.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::Report(format!("line {}: {why}", n + 1));
        let artifact: Value =
            serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let timestamp = field(&artifact, "timestamp");
        if let Some(run) = artifact.get("testRunArtifact") {
            if let Some(start) = run.get("testRunStart") {
                report.diagnostic = field(start, "name");
                report.version = field(start, "version");
                report.started = timestamp;
                read_dut(&mut report, start.get("dutInfo").unwrap_or(&Value::Null));
            } else if let Some(end) = run.get("testRunEnd") {
                report.status = field(end, "status");
                report.result = field(end, "result");
                report.ended = timestamp;
                saw_end = true;
            }
        } else if let Some(step) = artifact.get("testStepArtifact") {
            let id = field(step, "testStepId");
            if let Some(start) = step.get("testStepStart") {
                report.steps.push(Step {
                    id,
                    name: field(start, "name"),
                    ..Step::default()
                });
                continue;
            }
            let Some(s) = report.steps.iter_mut().rev().find(|s| s.id == id) else {
                return Err(bad(format!("step {id:?} was never started")));
            };
            if let Some(m) = step.get("measurement") {
                let limits = m
                    .get("validators")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| format!("{} {}", field(v, "type"), field(v, "value")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                s.measurements.push(MeasurementRow {
                    name: field(m, "name"),
                    value: field(m, "value"),
                    unit: field(m, "unit"),
                    limits,
                });
            } else if let Some(d) = step.get("diagnosis") {
                s.diagnoses.push(DiagnosisRow {
                    kind: field(d, "type"),
                    verdict: field(d, "verdict"),
                    message: field(d, "message"),
                });
            } else if let Some(l) = step.get("log") {
                s.logs.push(field(l, "message"));
            } else if let Some(end) = step.get("testStepEnd") {
                s.status = field(end, "status");
            }
        }
    }
    if !saw_end {
        return Err(Error::Report("the report has no testRunEnd".into()));
    }
    Ok(report)
}

fn read_dut(report: &mut Report, dut: &Value) {
    report.dut_id = field(dut, "dutInfoId");
    report.dut_name = field(dut, "name");
    if let Some(meta) = dut.get("metadata").and_then(Value::as_object) {
        report.metadata = meta.iter().map(|(k, v)| (k.clone(), text(v))).collect();
    }
    let list = |key: &str| {
        dut.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    report.platform = list("platformInfos")
        .iter()
        .map(|p| field(p, "info"))
        .collect();
    report.software = list("softwareInfos")
        .iter()
        .map(|s| (field(s, "name"), field(s, "version")))
        .collect();
    report.hardware = list("hardwareInfos")
        .iter()
        .map(|h| {
            let parts = [
                field(h, "manufacturer"),
                field(h, "partNumber"),
                field(h, "serialNumber"),
            ];
            let shown: Vec<&str> = parts
                .iter()
                .map(String::as_str)
                .filter(|p| !p.is_empty())
                .collect();
            (field(h, "name"), shown.join(" · "))
        })
        .collect();
}
