//! Arguments of the operations commands: the dashboard, its accounts, the Nagios plugin and the
//! recovery ladder.

use std::net::SocketAddr;

use clap::{Args, Subcommand};

/// The dashboard's options (`metal web`, and `metal serve --web`).
#[derive(Debug, Clone, Args)]
pub struct WebOptionsArgs {
    /// Networks (CIDR) whose clients may read pages, the API and /metrics without logging in
    /// (e.g. the monitoring network). Changes always need an operator. Repeatable.
    #[arg(long = "open", value_name = "CIDR")]
    pub open: Vec<ipnet::IpNet>,
    /// Mark the session cookie Secure: the dashboard is reached over TLS (a proxy in front).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Seconds between questions to each Dom0's agent for its load.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub load_interval: u64,
    /// The folder `metal console --record --dir` writes: each board page shows the end of its
    /// console.
    #[arg(long, value_name = "DIR")]
    pub consoles: Option<std::path::PathBuf>,
}

/// Serve the operations dashboard: racks, boards, Dom0s and DomUs with load, the JSON API
/// (/api/openapi.json), /metrics; operators log in to power-cycle or change state.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub options: WebOptionsArgs,
}

/// Operator accounts of the dashboard.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an operator, or set a new password for one. The password is read from the first
    /// line of standard input (at least 10 characters); only its argon2id hash is kept.
    Add {
        /// The operator's name (a-z, 0-9, '.', '_', '-'); events they cause carry it.
        name: String,
    },
    /// List the operators.
    Ls,
}

/// Nagios plugin: one status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
/// A board: AMT answers, power on, and if deployed its agent answers (the heartbeat). A DomU:
/// its Dom0's agent reports it running.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A hostname (board or DomU) from the inventory.
    pub host: String,
    /// Seconds after which a slow answer is a WARNING.
    #[arg(long, default_value_t = 2.0)]
    pub warning: f64,
    /// Seconds without an answer that are CRITICAL.
    #[arg(long, default_value_t = 10.0)]
    pub critical: f64,
}

/// The recovery ladder: power-cycle over AMT a deployed machine whose agent and ping both fail
/// for --down-after seconds, within limits; mark broken one that cycles do not bring back.
/// Every rung is an inventory event.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Only report (and record) what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds between probes.
    #[arg(long, default_value_t = 15.0)]
    pub interval: f64,
    /// Seconds both probes must fail before a power cycle.
    #[arg(long, default_value_t = 120.0)]
    pub down_after: f64,
    /// Seconds a cycled machine has to come back before it is judged again.
    #[arg(long, default_value_t = 300.0)]
    pub boot_grace: f64,
    /// Most power cycles per board per --window.
    #[arg(long, default_value_t = 2)]
    pub max_cycles: u32,
    /// The window of --max-cycles, in seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub window: f64,
    /// Cycles without recovery after which a board is marked broken.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub broken_after: u32,
    /// Seconds between two cycles in one rack (0: no limit).
    #[arg(long, default_value_t = 60.0)]
    pub rack_spacing: f64,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub stop_after: Option<f64>,
}
