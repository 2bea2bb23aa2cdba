//! One unit's acceptance: the checks `metal verify` ran on it, each with its verdict, the
//! evidence behind it and what was measured.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// It works, but below what the profile expects (a burn-in rate under its floor): the
    /// unit still passes, and the report says so (MAAS's `degraded`).
    Degraded,
    /// Not run, because an earlier result made it meaningless (the evidence says which).
    Skipped,
}

/// A limit a measured value must keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    AtLeast(f64),
    AtMost(f64),
    Equals(Value),
}

/// One value read or timed during a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub name: String,
    pub value: Value,
    pub unit: Option<String>,
    pub limit: Option<Limit>,
}

impl Measurement {
    /// A value without a limit.
    pub fn new(name: &str, value: impl Into<Value>, unit: Option<&str>) -> Self {
        Self {
            name: name.to_string(),
            value: value.into(),
            unit: unit.map(str::to_string),
            limit: None,
        }
    }

    /// The same measurement held to `limit`.
    pub fn limited(mut self, limit: Limit) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// One check on one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// A short stable name (`control-mode`), the OCP-TV step name.
    pub name: String,
    pub verdict: Verdict,
    /// What was seen, in a sentence: the reason for a failure.
    pub evidence: String,
    pub measurements: Vec<Measurement>,
    /// When the verdict was reached.
    pub at: SystemTime,
}

impl Check {
    pub fn pass(name: &str, evidence: impl Into<String>) -> Self {
        Self::new(name, Verdict::Pass, evidence)
    }

    pub fn fail(name: &str, evidence: impl Into<String>) -> Self {
        Self::new(name, Verdict::Fail, evidence)
    }

    pub fn degraded(name: &str, evidence: impl Into<String>) -> Self {
        Self::new(name, Verdict::Degraded, evidence)
    }

    pub fn skipped(name: &str, evidence: impl Into<String>) -> Self {
        Self::new(name, Verdict::Skipped, evidence)
    }

    fn new(name: &str, verdict: Verdict, evidence: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            verdict,
            evidence: evidence.into(),
            measurements: Vec::new(),
            at: SystemTime::now(),
        }
    }

    /// The same check with `m` recorded.
    pub fn with(mut self, m: Measurement) -> Self {
        self.measurements.push(m);
        self
    }
}

/// A unit under test and every check run on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// The AMT address it was reached at.
    pub host: String,
    /// The hardware profile it was held to.
    pub profile: String,
    pub uuid: Option<String>,
    /// The chassis serial number, when the board reports a real one.
    pub serial: Option<String>,
    /// Board maker and model.
    pub board: Option<(String, String)>,
    pub amt_version: Option<String>,
    pub checks: Vec<Check>,
    /// When the first check started and the last one ended.
    pub started: SystemTime,
    pub finished: SystemTime,
}

impl Unit {
    /// A unit passes when no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Fail)
    }

    /// The checks that found the unit degraded.
    pub fn degradations(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| c.verdict == Verdict::Degraded)
    }

    /// The file stem of this unit's reports: its serial number when it has a real one (what
    /// a label on the box shows), else its address; only characters safe in a file name.
    pub fn file_stem(&self) -> String {
        let raw = self.serial.as_deref().unwrap_or(&self.host);
        let safe: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if safe.is_empty() || safe.starts_with('.') {
            format!("unit_{safe}")
        } else {
            safe
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_fails_on_any_failed_check_and_names_files_safely() {
        let mut u = Unit {
            host: "127.0.0.1".into(),
            profile: "p".into(),
            uuid: None,
            serial: Some("../../etc/x y".into()),
            board: None,
            amt_version: None,
            checks: vec![Check::pass("a", "ok"), Check::skipped("b", "later")],
            started: SystemTime::now(),
            finished: SystemTime::now(),
        };
        assert!(u.passed());
        u.checks.push(Check::degraded("d", "slow"));
        assert!(u.passed(), "a degraded unit still passes");
        assert_eq!(u.degradations().count(), 1);
        u.checks.push(Check::fail("c", "bad"));
        assert!(!u.passed());
        assert_eq!(u.failures().count(), 1);
        assert_eq!(u.file_stem(), "unit_.._.._etc_x_y");
        u.serial = None;
        assert_eq!(u.file_stem(), "127.0.0.1");
    }
}
