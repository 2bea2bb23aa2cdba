//! The inventory's views: `ls`, the tree of `show HOST`, `events`, `dns sync`, exports.

use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use metal_ops::dns::SyncReport;
use metal_ops::lifecycle::{Event, Guest, Machine, MachineState};
use metal_ops::show::Tree;
use metal_types::text::Escaped as E;
use metal_types::{Document, HostOutcome};
use serde::Serialize;

use super::gib;

#[derive(Serialize)]
struct Machines<'a> {
    machines: &'a [Machine],
}

/// `ls`.
pub fn machines(out: &mut dyn Write, machines: &[Machine], json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("ls", Machines { machines }));
    }
    let mut table = super::table(["NAME", "ADDRESS", "RACK", "AMT", "UUID", "PROFILE", "STATE"]);
    for m in machines {
        table.add_row([
            m.hostname.clone(),
            m.address.to_string(),
            m.rack.clone(),
            m.amt_address.to_string(),
            m.uuid.clone(),
            m.profile.clone().unwrap_or_else(|| "-".into()),
            m.state.to_string(),
        ]);
    }
    out.write_all(format!("{table}\n").as_bytes())?;
    writeln!(out, "{} machines", machines.len())
}

/// `show HOST` of an inventory host.
pub fn tree(out: &mut dyn Write, tree: &Tree, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("show", tree));
    }
    let m = &tree.machine;
    writeln!(out, "rack {} (site {})", m.rack, m.site)?;
    writeln!(
        out,
        "└─ board {} slot {}: {} {}, serial {}, UUID {}",
        m.amt_address,
        m.slot,
        E(&m.board_maker),
        E(&m.board_model),
        E(&m.serial),
        E(&m.uuid)
    )?;
    let hw = &m.hardware;
    writeln!(
        out,
        "   │  mac {}  bios {}  amt {}",
        m.mac.map_or_else(|| "unknown".into(), |m| m.to_string()),
        E(&hw.bios_version),
        E(hw.amt_version.as_deref().unwrap_or("?"))
    )?;
    for cpu in &hw.cpus {
        writeln!(out, "   │  cpu  {} {}", E(&cpu.socket), E(&cpu.model))?;
    }
    writeln!(
        out,
        "   │  memory {} in {} DIMMs",
        gib(m.memory_bytes),
        hw.dimms.len()
    )?;
    for disk in &hw.disks {
        let kind = if disk.ssd { "ssd" } else { "hdd" };
        let gb = disk.bytes as f64 / 1e9;
        writeln!(out, "   │  disk {kind} {gb:.0} GB {}", E(&disk.model))?;
    }
    if let Some(pin) = &m.tls_pin {
        writeln!(out, "   │  tls pin sha256 {pin}")?;
    }
    writeln!(out, "   │  credentials: set {:?}", m.credential_set)?;
    match &tree.live.outcome {
        HostOutcome::Ok(live) => writeln!(
            out,
            "   │  now: power {}, next boot {}",
            live.power.power,
            live.next_boot.map_or_else(
                || "default order".to_string(),
                |d| format!("{d} (one-shot)")
            )
        )?,
        HostOutcome::Failed { error } => {
            writeln!(out, "   │  now: unknown ({})", E(&error.message))?
        }
    }
    let profile = match (&m.profile, &m.profile_note) {
        (Some(p), _) => format!(
            "profile {p} ({}, Dom0 {} MiB{}, role {})",
            m.storage.map_or_else(|| "?".into(), |s| s.to_string()),
            m.dom0_memory_mib.unwrap_or(0),
            m.root_gib
                .map_or_else(String::new, |g| format!(", root {g} GiB")),
            m.role.as_ref().map_or("?", |r| r.as_str())
        ),
        (None, Some(why)) => format!("no profile: {why}"),
        (None, None) => "no profile".to_string(),
    };
    writeln!(
        out,
        "   └─ dom0 {} {} [{}] {profile}",
        m.hostname, m.address, m.state
    )?;
    guests(out, &tree.guests)
}

fn guests(out: &mut dyn Write, guests: &[Guest]) -> io::Result<()> {
    for (i, g) in guests.iter().enumerate() {
        let branch = if i + 1 == guests.len() {
            "└─"
        } else {
            "├─"
        };
        writeln!(
            out,
            "      {branch} domU {} {} ({}, {} MiB)",
            g.name, g.address, g.role, g.memory_mib
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Events<'a> {
    events: &'a [Event],
}

fn state(s: Option<MachineState>) -> String {
    s.map_or_else(|| "-".into(), |s| s.to_string())
}

/// `events`.
pub fn events(out: &mut dyn Write, events: &[Event], json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("events", Events { events }));
    }
    for e in events {
        let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(e.at_ms).unwrap_or(0));
        let change = match (e.from, e.to) {
            (None, None) => "note".to_string(),
            (from, to) => format!("{} -> {}", state(from), state(to)),
        };
        writeln!(
            out,
            "{}  {:<10} {:<24} {}  [{}]",
            humantime::format_rfc3339_seconds(at),
            e.subject,
            change,
            E(&e.reason),
            E(&e.actor)
        )?;
    }
    Ok(())
}

/// `dns sync`.
pub fn dns_sync(out: &mut dyn Write, report: &SyncReport, json: bool) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new("dns sync", report));
    }
    let mut total = 0;
    for z in &report.zones {
        match &z.error {
            None => {
                total += z.records;
                let deleted = if z.deleted.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} names no longer in the inventory deleted: {}",
                        z.deleted.len(),
                        z.deleted.join(" ")
                    )
                };
                writeln!(
                    out,
                    "{}: {} records in {} signed UPDATE messages applied{deleted}",
                    z.zone, z.records, z.messages
                )?;
            }
            Some(e) => writeln!(out, "{}: FAILED: {e}", z.zone)?,
        }
    }
    let ok = report.zones.iter().filter(|z| z.ok).count();
    writeln!(
        out,
        "{total} records synced to {} ({ok} of {} zones)",
        report.server,
        report.zones.len()
    )
}

/// One exported file, for `export --json`.
#[derive(Serialize)]
pub struct ExportFile {
    pub name: String,
    /// Where it was written (`--out`), or `null` when only printed.
    pub path: Option<String>,
    pub text: String,
}

#[derive(Serialize)]
struct Exported<'a> {
    files: &'a [ExportFile],
}

/// `export ...`: the files as JSON, or the text of the printed one (and what was written).
pub fn exported(
    out: &mut dyn Write,
    command: &str,
    files: &[ExportFile],
    json: bool,
) -> io::Result<()> {
    if json {
        return super::json(out, &Document::new(command, Exported { files }));
    }
    let written: Vec<&ExportFile> = files.iter().filter(|f| f.path.is_some()).collect();
    if written.is_empty() {
        for f in files {
            write!(out, "{}", f.text)?;
        }
    } else {
        let names: Vec<&str> = written.iter().filter_map(|f| f.path.as_deref()).collect();
        eprintln!("wrote {}", names.join(", "));
    }
    Ok(())
}
