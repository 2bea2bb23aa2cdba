//! `metal-agent`: the daemon in every metal Dom0 (load, DomUs, volume streams), and the same
//! volume streams as commands an operator can run by hand.

mod load;
mod volume;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "metal-agent",
    version,
    about = "The metal daemon of a Dom0, and its volume streams"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stream a volume to another Dom0 (what `metal vm migrate` runs, by hand).
    #[command(subcommand)]
    Volume(volume::Op),
    /// This Dom0's load over a window, as JSON: CPU, memory, disk and network per domain,
    /// and the machine's free memory (from Xen, not from Dom0's own /proc).
    Load {
        /// Seconds between the two readings.
        #[arg(long, default_value_t = 5)]
        window: u64,
        /// Kernel names of the disks under the guests' volume group (vda, md0), whose busy
        /// time is the IO load.
        #[arg(long = "disk")]
        disks: Vec<String>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Volume(op) => volume::run(op)
            .map(|s| s.to_string())
            .map_err(|e| e.to_string()),
        Command::Load { window, disks } => load::measure(Duration::from_secs(window), &disks)
            .map_err(|e| e.to_string())
            .and_then(|l| serde_json::to_string_pretty(&l).map_err(|e| e.to_string())),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("metal-agent: {e}");
            ExitCode::from(2)
        }
    }
}
