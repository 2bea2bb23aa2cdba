//! `metal show HOST`: a board's hardware inventory, power state and pending boot override.

use anyhow::Context;
use clap::Args;
use metal_amt::{Amt, Error, Hardware, PowerStatus};
use metal_types::BootDevice;
use serde::Serialize;

use super::common::{expand_targets, print_report, report};
use super::power::StatusRow;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The board's IP address (live hardware, power and boot), or an inventory hostname (its
    /// rack, board, Dom0 and DomUs as recorded).
    pub host: String,
    #[command(flatten)]
    pub amt: super::common::AmtArgs,
}

/// Everything `show` reports about a board.
#[derive(Debug, Serialize)]
pub struct Details {
    pub power: StatusRow,
    /// Pending one-shot boot device; `null` when the board boots its default order.
    pub next_boot: Option<BootDevice>,
    pub hardware: Hardware,
}

async fn details(amt: &mut Amt) -> Result<(PowerStatus, Option<BootDevice>, Hardware), Error> {
    let hardware = amt.hardware().await?;
    let power = amt.power_status().await?;
    let next = amt.next_boot().await?;
    Ok((power, next, hardware))
}

pub async fn run(args: ShowArgs) -> anyhow::Result<i32> {
    // A hostname is shown from the inventory; an address keeps showing the live board.
    if let Ok(metal_types::Target::Name(name)) = args.host.parse() {
        let store = super::inventory::open_existing().await?.with_context(|| {
            format!("{name}: there is no inventory yet (`metal enroll` creates it, or pass --db)")
        })?;
        let code = super::tree::show(&store, &name, args.amt.json).await;
        store.close().await;
        return code;
    }
    let hosts = expand_targets(std::slice::from_ref(&args.host))?;
    if hosts.len() != 1 {
        anyhow::bail!(
            "show takes one board, and {} names {}",
            args.host,
            hosts.len()
        );
    }
    let fleet = args.amt.fleet()?;
    let runs = fleet
        .run(&hosts, |amt| Box::pin(details(amt)), |_| {})
        .await;
    let report = report("show", runs, |(power, next_boot, hardware)| Details {
        power: power.into(),
        next_boot,
        hardware,
    });
    if args.amt.json {
        return print_report(&report, true, &[], |_| Vec::new());
    }
    for host in &report.hosts {
        match &host.outcome {
            metal_types::HostOutcome::Ok(d) => print_details(&host.host, d),
            metal_types::HostOutcome::Failed { error } => eprintln!("error: {}", error.message),
        }
    }
    Ok(report.exit_code())
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn print_details(host: &str, d: &Details) {
    let h = &d.hardware;
    println!("{host}");
    println!("  uuid         {}", h.uuid);
    println!(
        "  chassis      {} {} (serial {})",
        h.chassis.manufacturer, h.chassis.model, h.chassis.serial
    );
    println!(
        "  board        {} {} (serial {})",
        h.board.manufacturer, h.board.model, h.board.serial
    );
    println!("  bios         {}", h.bios_version);
    println!(
        "  amt          {}",
        h.amt_version.as_deref().unwrap_or("unknown")
    );
    println!(
        "  mac          {}",
        h.mac
            .map(|m| m.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    for cpu in &h.cpus {
        println!("  cpu          {} {}", cpu.socket, cpu.model);
    }
    println!(
        "  memory       {} in {} DIMMs",
        gib(h.memory_bytes),
        h.dimms.len()
    );
    for dimm in &h.dimms {
        println!(
            "    {:<10} {} {}",
            dimm.bank,
            gib(dimm.bytes),
            dimm.part_number
        );
    }
    println!("  disks        {}", h.disks.len());
    for disk in &h.disks {
        let kind = if disk.ssd { "ssd" } else { "hdd" };
        println!(
            "    {:<10} {} {:.0} GB {}",
            disk.id,
            kind,
            disk.bytes as f64 / 1e9,
            disk.model
        );
    }
    println!("  power        {}", d.power.power);
    match d.next_boot {
        Some(device) => println!("  next boot    {device} (one-shot override)"),
        None => println!("  next boot    default order"),
    }
}
