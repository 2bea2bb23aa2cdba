//! `metal tftp serve DIR --listen ADDR:PORT`: the read-only TFTP server on its own.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

/// TFTP server on its own (read-only; blksize, tsize, timeout and windowsize negotiated).
#[derive(Debug, Args)]
pub struct TftpArgs {
    #[command(subcommand)]
    pub command: TftpCommand,
}

/// `metal tftp` subcommands.
#[derive(Debug, Subcommand)]
pub enum TftpCommand {
    /// Serve the files below DIR, read-only, until interrupted.
    Serve {
        /// Directory to serve; nothing outside it is ever read.
        dir: PathBuf,
        /// Address and port to listen on.
        #[arg(long, default_value = "0.0.0.0:69")]
        listen: SocketAddr,
    },
}

/// Prints `ready tftp=ADDR` once bound, then serves until SIGINT or SIGTERM.
pub async fn run(args: TftpArgs) -> anyhow::Result<i32> {
    let TftpCommand::Serve { dir, listen } = args.command;
    let server = metal_netboot::tftp::bind(&dir, listen)
        .with_context(|| format!("TFTP server for {} on {listen}", dir.display()))?;
    println!("ready tftp={}", server.local_addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = server.serve() => r.context("TFTP server stopped")?,
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(metal_types::ExitCode::OK)
}
