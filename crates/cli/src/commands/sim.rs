//! `metal sim`: a rack of simulated AMT boards on consecutive loopback addresses.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use metal_sim::{Fault, Profile, Sim, SimConfig, SimEvent};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Number of boards.
    #[arg(long, default_value_t = 1)]
    pub boards: usize,
    /// Address of the first board; the others follow consecutively.
    #[arg(long, default_value = "127.0.10.1")]
    pub first_ip: Ipv4Addr,
    /// AMT user the boards accept.
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// AMT password the boards accept.
    #[arg(long, env = "METAL_AMT_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Milliseconds added before every response.
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Firmware generation to imitate: amt-9, amt-11, amt-12, amt-16-tls-only.
    #[arg(long, default_value = "amt-12")]
    pub profile: Profile,
    /// Also serve TLS on 16993.
    #[arg(long)]
    pub tls: bool,
    /// Milliseconds a power change takes (AMT's busy window).
    #[arg(long, default_value_t = 1000)]
    pub transition_ms: u64,
    /// Most items per Pull response (smaller values exercise paging).
    #[arg(long, default_value_t = 999)]
    pub page_size: usize,
    /// Milliseconds a board takes to print its boot (BIOS banner to `login:`) on its console.
    #[arg(long, default_value_t = 1500)]
    pub boot_output_ms: u64,
    /// Start with Serial-over-LAN disabled in AMT_RedirectionService (clients must enable it).
    #[arg(long)]
    pub sol_disabled: bool,
    /// Inject a fault into one board: ADDRESS=latency:MS | drop | http500 | hang | refuse.
    #[arg(long = "fault", value_name = "ADDRESS=KIND")]
    pub faults: Vec<String>,
    /// Print boots and power changes only, not every request.
    #[arg(long)]
    pub quiet: bool,
}

/// Parses `latency:MS`, `drop`, `http500`, `hang`, `refuse`.
pub fn parse_fault(kind: &str) -> anyhow::Result<Fault> {
    Ok(match kind {
        "drop" => Fault::Drop,
        "http500" => Fault::Http500,
        "hang" => Fault::Hang,
        "refuse" => Fault::Refuse,
        "none" => Fault::None,
        other => match other.strip_prefix("latency:") {
            Some(ms) => Fault::Latency(Duration::from_millis(
                ms.parse()
                    .with_context(|| format!("fault {other}: bad milliseconds"))?,
            )),
            None => bail!("unknown fault {other:?}: use latency:MS, drop, http500, hang or refuse"),
        },
    })
}

impl SimArgs {
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        if self.boards == 0 {
            bail!("--boards must be at least 1");
        }
        Ok(SimConfig {
            boards: self.boards,
            first_ip: self.first_ip,
            user: self.user.clone(),
            password: self.password.clone(),
            latency: Duration::from_millis(self.latency),
            profile: self.profile,
            tls: self.tls,
            transition: Duration::from_millis(self.transition_ms),
            page_size: self.page_size.max(1),
            boot_output_delay: Duration::from_millis(self.boot_output_ms),
            sol_enabled: !self.sol_disabled,
            ..SimConfig::default()
        })
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<i32> {
    let config = args.config()?;
    let mut faults = Vec::new();
    for spec in &args.faults {
        let (address, kind) = spec
            .split_once('=')
            .with_context(|| format!("--fault {spec}: expected ADDRESS=KIND"))?;
        let address: Ipv4Addr = address
            .parse()
            .with_context(|| format!("--fault {spec}: bad address"))?;
        faults.push((address, parse_fault(kind)?));
    }
    // Each board holds two listeners plus its connections.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let sim = Sim::start(config)
        .await
        .context("cannot start the simulator")?;
    for (address, fault) in faults {
        let board = sim
            .board(address)
            .with_context(|| format!("--fault: no simulated board at {address}"))?;
        board.set_fault(fault);
    }
    let mut events = sim.events();
    println!("ready {} boards", sim.boards().len());
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(SimEvent::Request { .. }) if args.quiet => {}
                Ok(event) => println!("{event}"),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("({n} log lines dropped)"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    let stats = sim.stats();
    println!(
        "stats boards={} requests={} unauthorized={} max_requests_per_board={} max_unauthorized_per_board={}",
        sim.boards().len(),
        stats.requests,
        stats.unauthorized,
        stats.max_requests_per_board,
        stats.max_unauthorized_per_board
    );
    sim.shutdown().await;
    Ok(metal_types::ExitCode::OK)
}
