//! Fleet reports as tables: one row per host, failures naming their kind and cause, and the
//! summary line.

use std::io::{self, Write};

use metal_ops::boot::BootRow;
use metal_ops::enroll::{EnrollResult, EnrollRow};
use metal_ops::lifecycle::StateRow;
use metal_ops::power::{ChangeRow, StatusRow};
use metal_types::text::Escaped;
use metal_types::{HostOutcome, Report};
use serde::Serialize;

/// Prints a report as JSON, or as a table whose successful rows `columns` renders.
pub fn report<T: Serialize>(
    out: &mut dyn Write,
    report: &Report<T>,
    json: bool,
    headers: &[&str],
    columns: impl Fn(&T) -> Vec<String>,
) -> io::Result<()> {
    if json {
        return super::json(out, report);
    }
    let mut header = vec!["HOST"];
    header.extend_from_slice(headers);
    let mut table = super::table(header);
    for host in &report.hosts {
        let mut row = vec![host.host.clone()];
        match &host.outcome {
            HostOutcome::Ok(v) => row.extend(columns(v)),
            HostOutcome::Failed { error } => {
                let kind = serde_json::to_value(error.kind).unwrap_or_default();
                // The HOST column already names the host; drop the `address:port: ` prefix.
                let message = error
                    .message
                    .strip_prefix(host.host.as_str())
                    .and_then(|rest| rest.split_once(": "))
                    .map_or(error.message.as_str(), |(_, m)| m);
                row.push(format!(
                    "FAILED [{}] {}",
                    kind.as_str().unwrap_or("error"),
                    Escaped(message)
                ));
            }
        }
        table.add_row(row);
    }
    out.write_all(format!("{table}\n").as_bytes())?;
    let s = report.summary;
    writeln!(out, "{} ok, {} failed", s.ok, s.failed)
}

pub fn power_status(out: &mut dyn Write, r: &Report<StatusRow>, json: bool) -> io::Result<()> {
    report(out, r, json, &["POWER", "OFFERS"], |r| {
        vec![r.power.clone(), r.available.join(",")]
    })
}

pub fn power_change(out: &mut dyn Write, r: &Report<ChangeRow>, json: bool) -> io::Result<()> {
    report(out, r, json, &["BEFORE", "NOW", "RESULT"], |r| {
        let result = if r.changed {
            format!("{} done", r.action)
        } else {
            format!("already {}", r.power)
        };
        vec![r.before.clone(), r.power.clone(), result]
    })
}

pub fn boot(out: &mut dyn Write, r: &Report<BootRow>, json: bool) -> io::Result<()> {
    report(out, r, json, &["NEXT BOOT", "ACTION", "POWER"], |r| {
        vec![
            format!("{} (one-shot)", r.next_boot),
            r.power_action.clone().unwrap_or_else(|| "-".into()),
            r.power.clone(),
        ]
    })
}

fn result_name(r: EnrollResult) -> &'static str {
    match r {
        EnrollResult::Enrolled => "enrolled",
        EnrollResult::NotProvisioned => "not-provisioned",
        EnrollResult::Matched => "matched",
        EnrollResult::Unchanged => "unchanged",
        EnrollResult::Repinned => "new TLS pin recorded",
    }
}

pub fn enroll(out: &mut dyn Write, r: &Report<EnrollRow>, json: bool) -> io::Result<()> {
    report(
        out,
        r,
        json,
        &["NAME", "ADDRESS", "PROFILE", "STATE", "RESULT"],
        |row| {
            let result = match (&row.note, row.result) {
                (Some(note), res) => format!("{}: {note}", result_name(res)),
                (None, EnrollResult::Unchanged) => "already enrolled, unchanged".to_string(),
                (None, res) => result_name(res).to_string(),
            };
            vec![
                row.hostname.clone(),
                row.address.to_string(),
                row.profile.clone().unwrap_or_else(|| "-".into()),
                row.state.to_string(),
                result,
            ]
        },
    )?;
    if json {
        return Ok(());
    }
    let count = |what: EnrollResult| {
        r.hosts
            .iter()
            .filter(|h| matches!(&h.outcome, HostOutcome::Ok(row) if row.result == what))
            .count()
    };
    let unchanged = count(EnrollResult::Unchanged);
    if unchanged == r.hosts.len() {
        writeln!(
            out,
            "Nothing changed: all {unchanged} boards were already enrolled."
        )
    } else {
        writeln!(
            out,
            "{} enrolled now, {} recorded without a profile, {} re-pinned, {} unchanged.",
            count(EnrollResult::Enrolled) + count(EnrollResult::Matched),
            count(EnrollResult::NotProvisioned),
            count(EnrollResult::Repinned),
            unchanged
        )
    }
}

pub fn state(out: &mut dyn Write, r: &Report<StateRow>, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, r);
    }
    for host in &r.hosts {
        match &host.outcome {
            HostOutcome::Ok(row) => writeln!(out, "{}: {} -> {}", host.host, row.from, row.to)?,
            HostOutcome::Failed { error } => {
                writeln!(out, "{}: FAILED: {}", host.host, Escaped(&error.message))?
            }
        }
    }
    Ok(())
}
