//! `metal`: manage racks of Intel AMT boards as Xen Dom0 hosts.
//!
//! This binary is glue: it parses the command line, calls the library crates and prints their
//! results. Each subcommand lives in its own module under `commands/`.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Manage racks of Intel AMT boards: power, boot, console, netboot, inventory.
#[derive(Debug, Parser)]
#[command(name = "metal", version)]
struct Cli {
    /// Log filter for diagnostics on stderr (e.g. `debug`, `metal_wsman=trace`) [default:
    /// `warn`; for the services `serve` and `tftp`: `warn,metal_netboot=info`, a line per DHCP
    /// exchange and TFTP transfer].
    #[arg(long, global = true, env = "METAL_LOG")]
    log_level: Option<String>,
    /// Inventory database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: `db`
    /// under [inventory] in the config file, else ~/.local/share/metal/inventory.db].
    #[arg(long, global = true, env = "METAL_DB", hide_env_values = true)]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Power state and power changes of boards.
    Power(commands::power::PowerArgs),
    /// Hard power cycle (same as `power cycle`).
    PowerCycle(commands::power::TargetArgs),
    /// One-shot boot device for the next boot: pxe or disk.
    Boot(commands::boot::BootArgs),
    /// A board's serial console over AMT Serial-over-LAN (interactive, --expect, --record).
    Console(commands::console::ConsoleArgs),
    /// Find AMT endpoints in address blocks.
    Discover(commands::discover::DiscoverArgs),
    /// A board's hardware inventory, power state and pending boot; for an inventory host,
    /// its place in the tree (rack, board, Dom0, DomUs).
    Show(commands::show::ShowArgs),
    /// Discover boards, match hardware profiles, record them with hostname and address.
    Enroll(commands::enroll::EnrollArgs),
    /// Inventory machines.
    Ls(commands::ls::LsArgs),
    /// The inventory's event log.
    Events(commands::events::EventsArgs),
    /// Move inventory machines to another lifecycle state (e.g. broken, retired), with a reason.
    State(commands::state::StateArgs),
    /// Write the inventory as a BIND zone, Nagios objects or Prometheus targets.
    Export(commands::export::ExportArgs),
    /// DNS: apply the inventory's records to a live zone (RFC 2136 with TSIG).
    Dns(commands::dns::DnsArgs),
    /// Run a rack of simulated AMT boards on loopback addresses.
    Sim(commands::sim::SimArgs),
    /// Start a simulated rack and walk through discover, power and boot on it.
    Demo(commands::demo::DemoArgs),
    /// Run the netboot service: DHCP/proxyDHCP, TFTP, HTTP iPXE scripts and boot events.
    Serve(commands::serve::ServeArgs),
    /// The read-only TFTP server on its own.
    Tftp(commands::tftp::TftpArgs),
}

/// The log filter: the one asked for, else what suits the command (a service logs its work).
fn log_filter(cli: &Cli) -> String {
    match (&cli.log_level, &cli.command) {
        (Some(filter), _) => filter.clone(),
        (None, Command::Serve(_) | Command::Tftp(_)) => "warn,metal_netboot=info".into(),
        (None, _) => "warn".into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(log_filter(&cli)))
        .with_writer(std::io::stderr)
        .init();
    commands::inventory::set_db_option(cli.db.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(metal_types::ExitCode::USAGE as u8);
        }
    };
    let code = runtime.block_on(async move {
        let result = match cli.command {
            Command::Power(args) => commands::power::run(args).await,
            Command::PowerCycle(args) => {
                commands::power::change(metal_types::PowerAction::Cycle, args).await
            }
            Command::Boot(args) => commands::boot::run(args).await,
            Command::Console(args) => commands::console::run(args).await,
            Command::Discover(args) => commands::discover::run(args).await,
            Command::Show(args) => commands::show::run(args).await,
            Command::Enroll(args) => commands::enroll::run(args).await,
            Command::Ls(args) => commands::ls::run(args).await,
            Command::Events(args) => commands::events::run(args).await,
            Command::State(args) => commands::state::run(args).await,
            Command::Export(args) => commands::export::run(args).await,
            Command::Dns(args) => commands::dns::run(args).await,
            Command::Sim(args) => commands::sim::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Tftp(args) => commands::tftp::run(args).await,
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                metal_types::ExitCode::USAGE
            }
        }
    });
    ExitCode::from(code as u8)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Catches clashing argument names and other definition errors of every subcommand.
    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
