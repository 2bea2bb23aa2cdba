//! Writing a batch: each unit's JSON and page, then `summary.json` and `index.html`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::model::Unit;
use crate::{html, ocptv_json, read};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `data` to `path` by a rename, so a reader never sees half a report.
fn publish(path: &Path, data: &str) -> Result<(), Error> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, data).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// One unit in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryUnit {
    pub host: String,
    pub serial: Option<String>,
    pub uuid: Option<String>,
    pub passed: bool,
    pub failures: Vec<Finding>,
    /// Checks that passed below the profile's floors; the unit still passes.
    pub degraded: Vec<Finding>,
    /// The unit's files, relative to the report folder.
    pub json: String,
    pub html: String,
}

/// A failed or degraded check in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: String,
    pub evidence: String,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub profile: String,
    pub passed: usize,
    pub failed: usize,
    /// Of the units that passed, those with a degraded check.
    pub degraded: usize,
    pub units: Vec<SummaryUnit>,
}

/// Writes every unit's JSON and HTML and the batch summary into `dir` (created if need be);
/// returns the summary and the path of `index.html`.
pub async fn write_batch(
    dir: &Path,
    profile: &str,
    units: &[Unit],
    version: &str,
) -> Result<(Summary, PathBuf), Error> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut stems = HashSet::new();
    let mut rows = Vec::new();
    let mut summary_units = Vec::new();
    for unit in units {
        let mut stem = unit.file_stem();
        if !stems.insert(stem.clone()) {
            // Two units reporting one serial number: both get a report.
            stem = format!("{stem}_{}", unit.host.replace(':', "_"));
            stems.insert(stem.clone());
        }
        let json_name = format!("{stem}.ocptv.jsonl");
        let html_name = format!("{stem}.html");
        let json = ocptv_json::render(unit, version).await?;
        publish(&dir.join(&json_name), &json)?;
        let report = read::parse(&json)?;
        publish(
            &dir.join(&html_name),
            &html::unit_page(&report, &json_name)?,
        )?;
        let finding = |c: &crate::model::Check| Finding {
            check: c.name.clone(),
            evidence: c.evidence.clone(),
        };
        let failures: Vec<Finding> = unit.failures().map(finding).collect();
        let degraded: Vec<Finding> = unit.degradations().map(finding).collect();
        rows.push(html::SummaryRow {
            dut_id: report.dut_id.clone(),
            host: unit.host.clone(),
            result: report.result.clone(),
            failures: failures
                .iter()
                .map(|f| format!("{}: {}", f.check, f.evidence))
                .collect(),
            degraded: degraded
                .iter()
                .map(|f| format!("{}: {}", f.check, f.evidence))
                .collect(),
            page: html_name.clone(),
        });
        summary_units.push(SummaryUnit {
            host: unit.host.clone(),
            serial: unit.serial.clone(),
            uuid: unit.uuid.clone(),
            passed: unit.passed(),
            failures,
            degraded,
            json: json_name,
            html: html_name,
        });
    }
    let passed = summary_units.iter().filter(|u| u.passed).count();
    let degraded = summary_units
        .iter()
        .filter(|u| u.passed && !u.degraded.is_empty())
        .count();
    let summary = Summary {
        profile: profile.to_string(),
        passed,
        failed: summary_units.len() - passed,
        degraded,
        units: summary_units,
    };
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::Report(format!("summary: {e}")))?;
    publish(&dir.join("summary.json"), &text)?;
    let index = dir.join("index.html");
    publish(&index, &html::summary_page(profile, &rows)?)?;
    Ok((summary, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Check, Limit, Measurement};

    fn unit(serial: &str, fail: bool) -> Unit {
        let mut u = plain_unit(serial, fail);
        if serial == "S1" {
            u.checks.push(Check::degraded(
                "burnin-disk-sda",
                "fio 12.0 MiB/s, under 50",
            ));
        }
        u
    }

    fn plain_unit(serial: &str, fail: bool) -> Unit {
        let mut checks = vec![
            Check::pass("control-mode", "admin control mode, consent none").with(
                Measurement::new("provisioning_mode", "acm", None)
                    .limited(Limit::Equals("acm".into())),
            ),
            Check::pass("power", "off in 1.0 s, on in 1.1 s").with(
                Measurement::new("power_on_seconds", 1.1, Some("s")).limited(Limit::AtMost(60.0)),
            ),
        ];
        if fail {
            checks.push(Check::fail("hardware", "2 GiB of memory, not 8 <b>"));
            checks.push(Check::skipped("sol", "the host is off"));
        }
        Unit {
            host: "127.0.0.9".into(),
            profile: "desktop".into(),
            uuid: Some("0000-1".into()),
            serial: Some(serial.into()),
            board: Some(("Intel".into(), "NUC <script>".into())),
            amt_version: Some("12.0.67".into()),
            checks,
            started: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            finished: std::time::SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn the_page_is_read_back_from_the_json_and_escapes_board_text() {
        let dir = std::env::temp_dir().join(format!("acceptance-{}", std::process::id()));
        let units = [unit("S1", false), unit("S2", true), unit("S2", false)];
        let (summary, index) = write_batch(&dir, "desktop", &units, "0.1").await.unwrap();
        assert_eq!(
            (summary.passed, summary.failed, summary.degraded),
            (2, 1, 1)
        );
        assert_eq!(summary.units[0].degraded[0].check, "burnin-disk-sda");
        let s1 =
            read::parse(&std::fs::read_to_string(dir.join("S1.ocptv.jsonl")).unwrap()).unwrap();
        assert_eq!(s1.result, "PASS", "a degraded unit passes");
        assert_eq!(s1.steps.last().unwrap().outcome(), "DEGRADED");
        assert!(
            std::fs::read_to_string(dir.join("index.html"))
                .unwrap()
                .contains("burnin-disk-sda: fio 12.0 MiB/s")
        );
        assert_eq!(summary.units[2].json, "S2_127.0.0.9.ocptv.jsonl");
        let json = std::fs::read_to_string(dir.join("S2.ocptv.jsonl")).unwrap();
        let report = read::parse(&json).unwrap();
        assert_eq!(report.result, "FAIL");
        assert_eq!(report.dut_id, "S2");
        assert_eq!(
            report.started, "2027-01-15T08:00:00.000Z",
            "the run's own start, not the writing's"
        );
        assert_eq!(
            report.hardware,
            [("board".to_string(), "Intel · NUC <script> · S2".to_string())]
        );
        assert_eq!(report.status, "COMPLETE");
        let outcomes: Vec<&str> = report.steps.iter().map(|s| s.outcome()).collect();
        assert_eq!(outcomes, ["PASS", "PASS", "FAIL", "SKIP"]);
        let page = std::fs::read_to_string(dir.join("S2.html")).unwrap();
        assert!(
            page.contains("2 GiB of memory, not 8 &#60;b&#62;")
                || page.contains("2 GiB of memory, not 8 &lt;b&gt;"),
            "{page}"
        );
        assert!(!page.contains("<script>"));
        let index = std::fs::read_to_string(index).unwrap();
        assert!(index.contains("2 passed"), "{index}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_report_without_its_end_or_with_garbage_is_refused_naming_the_line() {
        assert!(
            read::parse("{\"sequenceNumber\":0}\n")
                .unwrap_err()
                .to_string()
                .contains("no testRunEnd")
        );
        assert!(
            read::parse("{}\nnot json\n")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
    }
}
