//! `metal show HOST` for an inventory host: its place in the tree (rack → board → Dom0 →
//! DomUs) with the board's hardware as recorded at enrolment.

use anyhow::{Context, bail};
use metal_inventory::{Guest, Machine, Store};
use serde::Serialize;
use serde_json::Value;

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct TreeReport<'a> {
    pub command: &'static str,
    pub machine: &'a Machine,
    pub guests: Vec<&'a Guest>,
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Prints one machine's tree.
pub async fn show(store: &Store, name: &str, json: bool) -> anyhow::Result<i32> {
    let machine = match store.machine(name).await? {
        Some(m) => m,
        None => {
            let guests = store.guests().await?;
            match guests.iter().find(|g| g.name == name || g.address == name) {
                Some(g) => store
                    .machine(&g.dom0)
                    .await?
                    .with_context(|| format!("{name}: its Dom0 {} is gone", g.dom0))?,
                None => bail!("{name} is not in the inventory"),
            }
        }
    };
    let guests = store.guests().await?;
    let mine: Vec<&Guest> = guests
        .iter()
        .filter(|g| g.dom0 == machine.hostname)
        .collect();
    if json {
        let doc = TreeReport {
            command: "show",
            machine: &machine,
            guests: mine,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(metal_types::ExitCode::OK);
    }
    print_tree(&machine, &mine);
    Ok(metal_types::ExitCode::OK)
}

/// The tree as text.
pub fn print_tree(m: &Machine, guests: &[&Guest]) {
    println!("rack {} (site {})", m.rack, m.site);
    println!(
        "└─ board {} slot {}: {} {}, serial {}, UUID {}",
        m.amt_address, m.slot, m.board_maker, m.board_model, m.serial, m.uuid
    );
    let hw = &m.hardware;
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    println!(
        "   │  mac {}  bios {}  amt {}",
        m.mac.as_deref().unwrap_or("unknown"),
        text(&hw["bios_version"]),
        text(&hw["amt_version"])
    );
    for cpu in hw["cpus"].as_array().into_iter().flatten() {
        println!(
            "   │  cpu  {} {}",
            text(&cpu["socket"]),
            text(&cpu["model"])
        );
    }
    let dimms = hw["dimms"].as_array().map_or(0, Vec::len);
    println!(
        "   │  memory {} in {dimms} DIMMs",
        gib(m.memory_bytes.max(0) as u64)
    );
    for disk in hw["disks"].as_array().into_iter().flatten() {
        let kind = if disk["ssd"].as_bool().unwrap_or(false) {
            "ssd"
        } else {
            "hdd"
        };
        let gb = disk["bytes"].as_u64().unwrap_or(0) as f64 / 1e9;
        println!("   │  disk {kind} {gb:.0} GB {}", text(&disk["model"]));
    }
    if let Some(pin) = &m.tls_pin {
        println!("   │  tls pin sha256 {pin}");
    }
    println!("   │  credentials: set {:?}", m.credential_set);
    let profile = match (&m.profile, &m.profile_note) {
        (Some(p), _) => format!(
            "profile {p} ({}, Dom0 {} MiB, role {})",
            m.storage.as_deref().unwrap_or("?"),
            m.dom0_memory_mib.unwrap_or(0),
            m.role.as_deref().unwrap_or("?")
        ),
        (None, Some(why)) => format!("no profile: {why}"),
        (None, None) => "no profile".to_string(),
    };
    println!(
        "   └─ dom0 {} {} [{}] {profile}",
        m.hostname, m.address, m.state
    );
    for (i, g) in guests.iter().enumerate() {
        let branch = if i + 1 == guests.len() {
            "└─"
        } else {
            "├─"
        };
        println!(
            "      {branch} domU {} {} ({}, {} MiB)",
            g.name, g.address, g.role, g.memory_mib
        );
    }
}
