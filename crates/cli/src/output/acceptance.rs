//! `verify`: a line per unit, the totals and where the reports are.

use std::io::{self, Write};

use metal_ops::verify::Verified;
use metal_types::Document;
use metal_types::text::escaped;
use serde::Serialize;

pub fn verified(out: &mut dyn Write, v: &Verified, json: bool) -> io::Result<()> {
    if json {
        #[derive(Serialize)]
        struct Doc<'a> {
            #[serde(flatten)]
            summary: &'a metal_acceptance::Summary,
            index: String,
        }
        let doc = Doc {
            summary: &v.summary,
            index: v.index.display().to_string(),
        };
        return super::json(out, &Document::new("verify", doc));
    }
    let mut text = String::new();
    for u in &v.summary.units {
        let id = u.serial.as_deref().unwrap_or("-");
        if u.passed && u.degraded.is_empty() {
            text.push_str(&format!("PASS {} {}\n", u.host, escaped(id)));
        }
        let findings = u
            .degraded
            .iter()
            .map(|f| ("DEGRADED", f))
            .chain(u.failures.iter().map(|f| ("FAIL", f)));
        for (verdict, f) in findings {
            text.push_str(&format!(
                "{verdict} {} {} {}: {}\n",
                u.host,
                escaped(id),
                f.check,
                escaped(&f.evidence)
            ));
        }
    }
    let degraded = match v.summary.degraded {
        0 => String::new(),
        n => format!(" ({n} degraded)"),
    };
    text.push_str(&format!(
        "{} passed{degraded}, {} failed; reports in {}\n",
        v.summary.passed,
        v.summary.failed,
        v.index.display()
    ));
    out.write_all(text.as_bytes())
}
