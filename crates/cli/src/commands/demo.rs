//! `metal demo`: starts a simulated rack in this process and walks through what an operator
//! does with a new rack: discover it, read power, netboot every board, and check the result;
//! then enrol it into the inventory, show one host's tree and the DNS zone it publishes.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use metal_sim::{Sim, SimConfig};
use metal_wsman::TransportOptions;

use super::common::AmtArgs;
use super::power::TargetArgs;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Boards in the simulated rack.
    #[arg(long, default_value_t = 8)]
    pub boards: usize,
    /// First board address; the default moves on to the next free /24 if it is taken.
    #[arg(long)]
    pub first_ip: Option<Ipv4Addr>,
}

const PASSWORD: &str = "Demo-Passw0rd!";

async fn start_sim(args: &DemoArgs) -> anyhow::Result<Sim> {
    let boards = args.boards.clamp(1, 250);
    let candidates: Vec<Ipv4Addr> = match args.first_ip {
        Some(ip) => vec![ip],
        None => (10..20).map(|n| Ipv4Addr::new(127, 0, n, 1)).collect(),
    };
    let mut last = None;
    for first_ip in candidates {
        let config = SimConfig {
            boards,
            first_ip,
            user: "admin".into(),
            password: PASSWORD.into(),
            transition: Duration::from_millis(300),
            ..SimConfig::default()
        };
        match Sim::start(config).await {
            Ok(sim) => return Ok(sim),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("no address to try")))
    .context("cannot start the simulated rack")
}

fn amt_args() -> AmtArgs {
    AmtArgs {
        user: Some("admin".into()),
        password: Some(PASSWORD.into()),
        tls: false,
        known_hosts: None,
        repin: false,
        parallel: 64,
        connect_timeout: 2.0,
        read_timeout: 10.0,
        power_timeout: 30.0,
        json: false,
        no_challenge_reuse: false,
    }
}

fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

pub async fn run(args: DemoArgs) -> anyhow::Result<i32> {
    let sim = start_sim(&args).await?;
    let boards = sim.boards();
    let first = boards.first().context("simulator started no boards")?.ip();
    let last = boards.last().context("simulator started no boards")?.ip();
    let range: Vec<String> = boards.iter().map(|b| b.ip().to_string()).collect();
    println!(
        "Simulated rack: {} AMT 12 boards at {first} .. {last} (user admin, password {PASSWORD})",
        boards.len()
    );

    step(
        1,
        &format!("metal discover {first}-{last}: which addresses answer AMT, and which firmware"),
    );
    let options = Arc::new(TransportOptions {
        connect_timeout: Duration::from_secs(1),
        ..TransportOptions::default()
    });
    let found = super::discover::discover(&range, 64, options, || {}).await;
    super::discover::print_found(&found, range.len());

    let targets = || TargetArgs {
        targets: vec![range.join(",")],
        amt: amt_args(),
    };
    step(2, "metal power status: every board's power state");
    let mut worst = super::power::status(targets()).await?;

    step(
        3,
        "metal boot pxe --now: one-shot network boot, resetting boards that are on",
    );
    let boot = super::boot::BootArgs {
        device: super::boot::Device::Pxe,
        now: true,
        targets: targets(),
    };
    worst = worst.max(super::boot::run(boot).await?);

    step(4, "What the boards did (the simulator's boot log)");
    // A reset completes after AMT's busy window; the boards are rebooting right now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for board in &boards {
        let boots: Vec<String> = board
            .boots()
            .iter()
            .map(|b| {
                format!(
                    "{}{}",
                    b.device,
                    if b.one_shot { " (one-shot)" } else { "" }
                )
            })
            .collect();
        println!("  {}  booted from: {}", board.ip(), boots.join(", "));
    }

    step(
        5,
        "metal power status: all on again, and the override is used up",
    );
    worst = worst.max(super::power::status(targets()).await?);
    let pending: Vec<String> = boards
        .iter()
        .filter(|b| b.next_boot().is_some())
        .map(|b| b.ip().to_string())
        .collect();
    if pending.is_empty() {
        println!("No board has a pending boot override: the next boot of each is from disk again.");
    } else {
        println!("Boards still holding an override: {}", pending.join(", "));
    }

    step(6, &format!("metal show {first}: one board's hardware"));
    let show = super::show::ShowArgs {
        host: first.to_string(),
        amt: amt_args(),
    };
    worst = worst.max(super::show::run(show).await?);

    worst = worst.max(inventory_steps(&range).await?);

    let stats = sim.stats();
    println!(
        "\nThe simulator answered {} requests; {} were 401 digest challenges, one per board and command: every later request reused the cached challenge.",
        stats.requests, stats.unauthorized
    );
    sim.shutdown().await;
    Ok(worst)
}

/// Steps 7-9: enrol the rack into an inventory, show one host's tree, export the zone. Without
/// `--db` the inventory is a scratch SQLite file, removed afterwards.
async fn inventory_steps(range: &[String]) -> anyhow::Result<i32> {
    let scratch = match super::inventory::db_url()? {
        (_, true) => None,
        (_, false) => {
            let dir = std::env::temp_dir().join(format!("metal-demo-{}", std::process::id()));
            let url = metal_inventory::store::sqlite_url(&dir.join("inventory.db"));
            super::inventory::set_db_option(Some(url));
            Some(dir)
        }
    };
    step(
        7,
        "metal enroll --rack r01: match hardware profiles, allocate names and addresses, record",
    );
    let enroll = super::enroll::EnrollArgs {
        targets: vec![range.join(",")],
        rack: "r01".into(),
        site: "demo".into(),
        pool: Some("10.10.0.0/24".into()),
        hostname_scheme: None,
        credential_set: "default".into(),
        profiles: None,
        boot: false,
        amt: amt_args(),
    };
    let mut worst = super::enroll::run(enroll).await?;
    let store = super::inventory::open().await?;
    let guests = [("backend01", "web", 1024), ("backend02", "web", 1024)];
    for (name, role, mib) in guests {
        store
            .add_guest("r01-h02", name, role, mib, &super::inventory::actor("demo"))
            .await?;
    }

    step(
        8,
        "metal show r01-h02: rack -> board -> Dom0 -> DomUs (two DomUs added for the demo)",
    );
    worst = worst.max(super::tree::show(&store, "r01-h02", false).await?);
    store.close().await;

    step(9, "metal export dns --zone host.h: the zone DNS gets");
    let (machines, guests) = super::export::inventory().await?;
    let args = super::export::DnsExportArgs {
        zone: super::export::ZoneArgs {
            zone: "host.h".into(),
            ttl: 300,
        },
        ns: "ns".into(),
        ns_address: Ipv4Addr::LOCALHOST,
        serial: Some(1),
        out: None,
    };
    let (forward, _) = super::export::zones(&args, &machines, &guests);
    print!("{forward}");
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(worst)
}
