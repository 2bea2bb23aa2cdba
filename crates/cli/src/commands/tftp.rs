//! `metal tftp serve DIR --listen ADDR:PORT`: the read-only TFTP server on its own.
//!
//! With `--workers N` (default: one per CPU), N processes serve the port together through
//! `SO_REUSEPORT`: `async-tftp` runs each server on one thread around its process's single
//! `async-io` reactor, so threads would contend for it; processes do not. The first process
//! binds (resolving port 0), starts the others on the same address and stops them by PID when
//! it stops. A worker exits when its parent goes away (its stdin, a pipe from the parent,
//! closes), so none is left behind even if the parent is killed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tokio::io::AsyncReadExt;

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
        /// Server processes sharing the port [default: one per CPU].
        #[arg(long)]
        workers: Option<usize>,
        /// Run as a worker started by another `metal tftp serve` (internal).
        #[arg(long, hide = true)]
        worker: bool,
    },
}

/// Stops the worker processes by PID when dropped.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_worker(dir: &Path, addr: SocketAddr) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the metal binary to start TFTP workers")?;
    let mut child = Command::new(exe)
        .args(["tftp", "serve"])
        .arg(dir)
        .args(["--listen", &addr.to_string(), "--worker"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting a TFTP worker")?;
    let stdout = child.stdout.take().context("worker stdout")?;
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)?;
    if !first.starts_with("ready ") {
        let _ = child.kill();
        let _ = child.wait();
        bail!("a TFTP worker did not start on {addr}");
    }
    Ok(child)
}

/// Prints `ready tftp=ADDR workers=N` once every process is bound, then serves until SIGINT or
/// SIGTERM.
pub async fn run(args: TftpArgs) -> anyhow::Result<i32> {
    let TftpCommand::Serve {
        dir,
        listen,
        workers,
        worker,
    } = args.command;
    let count =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if count == 0 {
        bail!("--workers must be at least 1");
    }
    let shared = worker || count > 1;
    let server = metal_netboot::tftp::bind_with(&dir, listen, shared)
        .await
        .with_context(|| format!("TFTP server for {} on {listen}", dir.display()))?;
    let addr = server.local_addr();
    let mut others = Workers(Vec::new());
    if !worker {
        for _ in 1..count {
            others.0.push(start_worker(&dir, addr)?);
        }
    }
    println!(
        "ready tftp={addr} workers={}",
        if worker { 1 } else { count }
    );
    let parent_gone = async {
        if worker {
            let mut byte = [0u8; 1];
            let _ = tokio::io::stdin().read(&mut byte).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = server.serve() => r.context("TFTP server stopped")?,
        _ = parent_gone => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(others);
    Ok(metal_types::ExitCode::OK)
}
