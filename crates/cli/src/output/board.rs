//! What is read live from boards: `show` of an address, `discover`, `console --record`.

use std::io::{self, Write};

use metal_ops::console::expect::Outcome;
use metal_ops::console::record::Recording;
use metal_ops::discover::DiscoverReport;
use metal_ops::show::Details;
use metal_types::text::Escaped as E;
use metal_types::{Document, HostOutcome, Report};
use serde::Serialize;

use super::gib;

/// `show ADDRESS`.
pub fn details(out: &mut dyn Write, report: &Report<Details>, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, report);
    }
    for host in &report.hosts {
        match &host.outcome {
            HostOutcome::Ok(d) => print_details(out, &host.host, d)?,
            HostOutcome::Failed { error } => eprintln!("error: {}", E(&error.message)),
        }
    }
    Ok(())
}

fn print_details(out: &mut dyn Write, host: &str, d: &Details) -> io::Result<()> {
    let h = &d.hardware;
    writeln!(out, "{host}")?;
    writeln!(out, "  uuid         {}", E(&h.uuid))?;
    writeln!(
        out,
        "  chassis      {} {} (serial {})",
        E(&h.chassis.manufacturer),
        E(&h.chassis.model),
        E(&h.chassis.serial)
    )?;
    writeln!(
        out,
        "  board        {} {} (serial {})",
        E(&h.board.manufacturer),
        E(&h.board.model),
        E(&h.board.serial)
    )?;
    writeln!(out, "  bios         {}", E(&h.bios_version))?;
    writeln!(
        out,
        "  amt          {}",
        E(h.amt_version.as_deref().unwrap_or("unknown"))
    )?;
    writeln!(
        out,
        "  mac          {}",
        h.mac.map_or_else(|| "unknown".into(), |m| m.to_string())
    )?;
    for cpu in &h.cpus {
        writeln!(out, "  cpu          {} {}", E(&cpu.socket), E(&cpu.model))?;
    }
    writeln!(
        out,
        "  memory       {} in {} DIMMs",
        gib(h.memory_bytes),
        h.dimms.len()
    )?;
    for dimm in &h.dimms {
        writeln!(
            out,
            "    {:<10} {} {}",
            E(&dimm.bank).to_string(),
            gib(dimm.bytes),
            E(&dimm.part_number)
        )?;
    }
    writeln!(out, "  disks        {}", h.disks.len())?;
    for disk in &h.disks {
        let kind = if disk.ssd { "ssd" } else { "hdd" };
        writeln!(
            out,
            "    {:<10} {} {:.0} GB {}",
            E(&disk.id).to_string(),
            kind,
            disk.bytes as f64 / 1e9,
            E(&disk.model)
        )?;
    }
    writeln!(out, "  power        {}", d.power.power)?;
    match d.next_boot {
        Some(device) => writeln!(out, "  next boot    {device} (one-shot override)"),
        None => writeln!(out, "  next boot    default order"),
    }
}

/// `discover`.
pub fn discovered(out: &mut dyn Write, report: &DiscoverReport, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("discover", report));
    }
    let mut table = super::table(["ADDRESS", "HTTP 16992", "TLS 16993", "AMT VERSION"]);
    let yes = |b: bool| if b { "yes" } else { "-" }.to_string();
    for d in &report.found {
        table.add_row(vec![
            d.address.to_string(),
            yes(d.http),
            yes(d.tls),
            d.version
                .clone()
                .or_else(|| d.server.clone())
                .unwrap_or_else(|| "unknown".into()),
        ]);
    }
    out.write_all(format!("{table}\n").as_bytes())?;
    writeln!(
        out,
        "{} AMT endpoints among {} addresses",
        report.found.len(),
        report.probed
    )
}

/// The `console --record` JSON document.
#[derive(Serialize)]
struct Recorded<'a> {
    boards: &'a [Recording],
}

/// `console --record`, once stopped.
pub fn recordings(out: &mut dyn Write, boards: &[Recording], json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("console --record", Recorded { boards }));
    }
    let mut table = super::table(["HOST", "SESSIONS", "BYTES", "LAST ERROR"]);
    for b in boards {
        table.add_row(vec![
            b.host.clone(),
            b.sessions.to_string(),
            b.bytes.to_string(),
            b.last_error.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    out.write_all(format!("{table}\n").as_bytes())
}

#[derive(Serialize)]
struct Expected<'a> {
    host: &'a str,
    matched: bool,
    /// The matching line, or why the wait failed.
    line: Option<&'a str>,
    error: Option<&'a str>,
    /// The last lines the board printed, when the wait failed.
    tail: &'a [String],
}

/// `console --expect`: the matching line on stdout, or why not and the last lines on stderr.
pub fn expected(out: &mut dyn Write, host: &str, outcome: &Outcome, json: bool) -> io::Result<()> {
    if json {
        let doc = match outcome {
            Outcome::Matched(line) => Expected {
                host,
                matched: true,
                line: Some(line),
                error: None,
                tail: &[],
            },
            Outcome::Failed { why, tail } => Expected {
                host,
                matched: false,
                line: None,
                error: Some(why),
                tail,
            },
        };
        return super::json(out, &Document::new("console --expect", doc));
    }
    match outcome {
        Outcome::Matched(line) => writeln!(out, "{line}"),
        Outcome::Failed { why, tail } => {
            eprintln!("error: {host}: {}; last lines from the board:", E(why));
            for line in tail {
                eprintln!("  | {}", E(line));
            }
            Ok(())
        }
    }
}
