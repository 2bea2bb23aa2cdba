//! `metal-agent`: the daemon in every metal Dom0 (load, DomUs, volume streams), and the same
//! volume streams as commands an operator can run by hand.

mod volume;

use std::process::ExitCode;

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Volume(op) => volume::run(op),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("metal-agent: {e}");
            ExitCode::from(2)
        }
    }
}
