//! Printable pages: one per unit, read back from its OCP-TV report, and a batch summary.
//! Every value is HTML-escaped by askama; the pages load nothing from elsewhere.

use askama::Template;

use crate::error::Error;
use crate::read::Report;

/// A unit's page.
#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage<'a> {
    r: &'a Report,
    json_file: &'a str,
}

/// Renders a unit's page; `json_file` is the report's file name, linked from the page.
pub fn unit_page(report: &Report, json_file: &str) -> Result<String, Error> {
    Ok(UnitPage {
        r: report,
        json_file,
    }
    .render()?)
}

/// One unit on the batch summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub dut_id: String,
    pub host: String,
    pub result: String,
    /// `check: evidence` of each failed check.
    pub failures: Vec<String>,
    /// `check: evidence` of each degraded check.
    pub degraded: Vec<String>,
    pub page: String,
}

#[derive(Template)]
#[template(path = "summary.html")]
struct SummaryPage<'a> {
    profile: &'a str,
    rows: &'a [SummaryRow],
    passed: usize,
    failed: usize,
}

/// Renders the batch summary.
pub fn summary_page(profile: &str, rows: &[SummaryRow]) -> Result<String, Error> {
    let passed = rows.iter().filter(|r| r.result == "PASS").count();
    Ok(SummaryPage {
        profile,
        rows,
        passed,
        failed: rows.len() - passed,
    }
    .render()?)
}
