//! `metal vm …` output: one line per result, a table for `ls`, or JSON documents.

use std::io::{self, Write};

use metal_ops::vm::{Changed, Created, Listed, Migrated};
use metal_types::Document;
use metal_types::text::Escaped as E;
use serde::Serialize;

pub fn created(out: &mut dyn Write, c: &Created, explain: bool, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("vm create", c));
    }
    if explain {
        if c.explain.is_empty() {
            writeln!(
                out,
                "placement: --on {} (no candidates weighed)",
                c.guest.dom0
            )?;
        } else {
            writeln!(out, "placement of {} ({}):", c.guest.name, c.guest.role)?;
            for line in &c.explain {
                writeln!(out, "  {}", E(line))?;
            }
        }
    }
    writeln!(
        out,
        "created {} on {} at {} ({} MiB, {} vCPU, {} GiB): {}{}; image {} MB written and verified in {:.1} s",
        c.guest.name,
        c.guest.dom0,
        c.guest.address,
        c.status.memory_mib,
        c.status.vcpus,
        c.status.disk_gib,
        c.status.state,
        c.status
            .domid
            .map(|d| format!(", domain {d}"))
            .unwrap_or_default(),
        c.image_bytes / 1_000_000,
        c.stream_millis as f64 / 1000.0
    )
}

#[derive(Serialize)]
struct Guests<'a> {
    guests: &'a [Listed],
}

pub fn listed(out: &mut dyn Write, listed: &[Listed], json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("vm ls", Guests { guests: listed }));
    }
    let mut table = super::table(["NAME", "DOM0", "ADDRESS", "ROLE", "MEMORY", "STATE"]);
    for l in listed {
        table.add_row([
            l.name.clone(),
            l.dom0.clone(),
            l.address.to_string(),
            l.role.clone(),
            format!("{} MiB", l.memory_mib),
            match (&l.state, &l.error) {
                (Some(s), _) => s.clone(),
                (None, e) => format!("unknown: {}", E(e.as_deref().unwrap_or("-"))),
            },
        ]);
    }
    out.write_all(format!("{table}\n").as_bytes())?;
    writeln!(out, "{} guests", listed.len())
}

pub fn changed(out: &mut dyn Write, command: &str, c: &Changed, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new(command, c));
    }
    writeln!(out, "{} on {}: {}", c.name, c.dom0, c.state)
}

#[derive(Serialize)]
struct Console<'a> {
    name: &'a str,
    text: &'a str,
}

/// The console text, each line with its control characters escaped (a guest's console
/// holds colour sequences and whatever the guest prints).
pub fn console(out: &mut dyn Write, name: &str, text: &str, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("vm console", Console { name, text }));
    }
    for line in text.replace('\r', "").lines() {
        writeln!(out, "{}", E(line))?;
    }
    Ok(())
}

pub fn migrated(out: &mut dyn Write, m: &Migrated, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("vm migrate", m));
    }
    let mb = |b: u64| b as f64 / 1e6;
    writeln!(
        out,
        "moved {} from {} to {}: full pass {:.0} MB ({:.0} MB data) in {:.1} s, delta {:.1} MB in {:.1} s, down {:.1} s; {}",
        m.guest.name,
        m.from,
        m.guest.dom0,
        mb(m.full.size),
        mb(m.full.data_bytes),
        m.full.millis as f64 / 1000.0,
        mb(m.delta.data_bytes),
        m.delta.millis as f64 / 1000.0,
        m.downtime_millis as f64 / 1000.0,
        m.status.state
    )
}
