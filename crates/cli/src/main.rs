//! `metal`: manage racks of Intel AMT boards as Xen Dom0 hosts.
//!
//! This binary is a front-end: `args` defines the command line, `commands` calls `metal_ops`
//! (where the application lives) and `output` renders what it returns.

mod args;
mod commands;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use metal_ops::Config;

use args::{Cli, Command};

/// mimalloc instead of glibc's malloc: a fleet run allocates per board on every worker thread,
/// and glibc's arenas spent a fifth of `power status` over 10 000 boards in malloc, free and
/// their locks (BENCHMARKS.md, "Load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The log filter: the one asked for, else what suits the command (a service logs its work).
fn log_filter(cli: &Cli) -> String {
    match (&cli.global.log_level, &cli.command) {
        (Some(filter), _) => filter.clone(),
        (None, Command::Serve(_) | Command::Tftp(_)) => "warn,metal_netboot=info".into(),
        (None, _) => "warn".into(),
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set (<https://no-color.org>).
fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(log_filter(&cli)))
        .with_ansi(colour())
        .with_writer(std::io::stderr)
        .init();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) if e.is_closed_output() => e.exit_code(),
        Err(e) => {
            // Errors quote boards and servers (a fault's reason, an HTTP body): escaped.
            eprintln!("error: {}", metal_types::text::Escaped(&e.to_string()));
            e.exit_code()
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn run(cli: Cli) -> Result<i32, metal_ops::Error> {
    let config = Config::resolve(cli.global.flags(), &|k| std::env::var(k).ok())?;
    let ctx = commands::Ctx {
        config,
        json: cli.global.json,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(metal_ops::Error::Output)?;
    runtime.block_on(commands::run(&ctx, cli.command))
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
