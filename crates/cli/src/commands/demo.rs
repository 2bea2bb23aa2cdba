//! `demo`: starts a simulated rack in this process and walks through what an operator does
//! with a new rack: discover it, read power, netboot every board, check the result; then enrol
//! it, show one host's tree and the DNS zone it publishes. Without `--db` the inventory is a
//! scratch SQLite file, removed afterwards.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use metal_ops::config::Credentials;
use metal_ops::dns::{Zone, ZoneFileOptions};
use metal_ops::enroll::Enrolment;
use metal_ops::show::Shown;
use metal_ops::{Config, Error, Silent};
use metal_sim::{Sim, SimConfig};

use super::ctx::Ctx;
use crate::args::DemoArgs;
use crate::output;

pub(super) const PASSWORD: &str = "Demo-Passw0rd!";

async fn start_sim(args: &DemoArgs) -> Result<Sim, Error> {
    let boards = args.boards.clamp(1, 250);
    let candidates: Vec<Ipv4Addr> = match args.first_ip {
        Some(ip) => vec![ip],
        None => (10..20).map(|n| Ipv4Addr::new(127, 0, n, 1)).collect(),
    };
    let mut last = String::from("no address to try");
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
            Err(e) => last = e.to_string(),
        }
    }
    Err(Error::Usage(format!(
        "cannot start the simulated rack: {last}"
    )))
}

/// The operator's configuration, pointed at the simulated rack: its password, plain HTTP,
/// pins in memory, a scratch inventory unless one was asked for.
pub(super) fn demo_config(base: &Config, scratch: &std::path::Path) -> Config {
    let mut config = base.clone();
    config.credentials = Some(Credentials {
        user: "admin".into(),
        password: PASSWORD.into(),
    });
    config.tls = false;
    config.known_hosts = None;
    config.parallel = 64;
    config.connect_timeout = Duration::from_secs(2);
    config.probe_timeout = Duration::from_secs(1);
    config.read_timeout = Duration::from_secs(10);
    config.power_timeout = Duration::from_secs(30);
    if !config.db.explicit {
        config.db.url = format!("sqlite://{}", scratch.join("inventory.db").display());
        config.db.explicit = true;
    }
    config
}

/// The devices a simulated board booted from, in order (`pxe (one-shot), disk`).
pub(super) fn boots(board: &metal_sim::BoardHandle) -> String {
    board
        .boots()
        .iter()
        .map(|b| {
            format!(
                "{}{}",
                b.device,
                if b.one_shot { " (one-shot)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

pub async fn run(ctx: &Ctx, args: DemoArgs) -> Result<i32, Error> {
    if args.qemu {
        return super::demo_qemu::run(ctx, args).await;
    }
    super::ctx::no_json(
        ctx,
        "demo",
        "it is a walkthrough; each step's command has --json",
    )?;
    let sim = start_sim(&args).await?;
    let scratch: PathBuf = std::env::temp_dir().join(format!("metal-demo-{}", std::process::id()));
    let config = demo_config(&ctx.config, &scratch);
    let result = walk(&config, &sim).await;
    let stats = sim.stats();
    println!(
        "\nThe simulator answered {} requests; {} were 401 digest challenges, one per board and command: every later request reused the cached challenge.",
        stats.requests, stats.unauthorized
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn walk(config: &Config, sim: &Sim) -> Result<i32, Error> {
    let out = &mut std::io::stdout();
    let boards = sim.boards();
    let (Some(first), Some(last)) = (boards.first(), boards.last()) else {
        return Err(Error::Usage("the simulator started no boards".into()));
    };
    let (first, last) = (first.ip(), last.ip());
    let range = vec![
        boards
            .iter()
            .map(|b| b.ip().to_string())
            .collect::<Vec<_>>()
            .join(","),
    ];
    println!(
        "Simulated rack: {} AMT 12 boards at {first} .. {last} (user admin, password {PASSWORD})",
        boards.len()
    );

    step(
        1,
        &format!("metal discover {first}-{last}: which addresses answer AMT, and which firmware"),
    );
    let found = metal_ops::discover::discover(config, &range, &Silent).await?;
    output::board::discovered(out, &found, false)?;

    step(2, "metal power status: every board's power state");
    let status = metal_ops::power::status(config, &range, &Silent).await?;
    output::fleet::power_status(out, &status, false)?;
    let mut worst = status.exit_code();

    step(
        3,
        "metal boot pxe --now: one-shot network boot, resetting boards that are on",
    );
    let boot =
        metal_ops::boot::boot(config, metal_types::BootDevice::Pxe, true, &range, &Silent).await?;
    output::fleet::boot(out, &boot, false)?;
    worst = worst.max(boot.exit_code());

    step(4, "What the boards did (the simulator's boot log)");
    // A reset completes after AMT's busy window; the boards are rebooting right now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for board in &boards {
        println!("  {}  booted from: {}", board.ip(), boots(board));
    }

    step(
        5,
        "metal power status: all on again, and the override is used up",
    );
    let status = metal_ops::power::status(config, &range, &Silent).await?;
    output::fleet::power_status(out, &status, false)?;
    worst = worst.max(status.exit_code());
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
    let shown = metal_ops::show::show(config, &first.to_string()).await?;
    if let Shown::Board(report) = &shown {
        output::board::details(out, report, false)?;
    }
    worst = worst.max(shown.exit_code());

    step(
        7,
        "metal enroll --rack r01: match hardware profiles, allocate names and addresses, record",
    );
    let plan = Enrolment {
        specs: range.clone(),
        rack: "r01".into(),
        site: "demo".into(),
        pool: Some("10.10.0.0/24".into()),
        hostname_scheme: None,
        credential_set: "default".into(),
        boot: false,
    };
    let enrolled = metal_ops::enroll::enroll(config, &plan, &Silent).await?;
    output::fleet::enroll(out, &enrolled, false)?;
    worst = worst.max(enrolled.exit_code());
    for name in ["backend01", "backend02"] {
        metal_ops::lifecycle::add_guest(config, "r01-h02", name, "web", 1024).await?;
    }

    step(
        8,
        "metal show r01-h02: rack -> board -> Dom0 -> DomUs (two DomUs added for the demo)",
    );
    let shown = metal_ops::show::show(config, "r01-h02").await?;
    if let Shown::Machine(tree) = &shown {
        output::inventory::tree(out, tree, false)?;
    }
    worst = worst.max(shown.exit_code());

    step(9, "metal export dns --zone host.h: the zone DNS gets");
    let opts = ZoneFileOptions {
        zone: Zone {
            name: "host.h".parse().map_err(|e| Error::Usage(format!("{e}")))?,
            ttl: 300,
        },
        ns: "ns".parse().map_err(|e| Error::Usage(format!("{e}")))?,
        ns_address: Ipv4Addr::LOCALHOST,
        serial: Some(1),
    };
    let zones = metal_ops::dns::export(config, &opts).await?;
    use std::io::Write;
    write!(out, "{}", zones.forward.text)?;
    Ok(worst)
}
