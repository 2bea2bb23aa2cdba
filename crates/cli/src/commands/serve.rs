//! `metal serve`: the netboot service (DHCP or proxyDHCP, TFTP, HTTP) from a TOML file.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use metal_netboot::{Config, ConfigPolicy, Netboot};

/// Run the netboot service: DHCP/proxyDHCP, TFTP and HTTP (iPXE scripts, images, boot events).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Netboot configuration (TOML; see `metal_netboot::config`).
    #[arg(long, short, env = "METAL_NETBOOT_CONFIG")]
    pub config: PathBuf,
}

/// Binds everything, prints one `ready` line, then one `event` line per boot event, until
/// interrupted (SIGINT or SIGTERM).
pub async fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config)?;
    let mode = config.mode;
    let policy = Arc::new(ConfigPolicy::new(&config));
    let server = Netboot::bind(config, policy).await.with_context(|| {
        format!(
            "starting the netboot service from {}",
            args.config.display()
        )
    })?;
    let addrs = server.addresses();
    let mut events = server.events().subscribe();
    let show = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    println!(
        "ready mode={} dhcp={} tftp={} http={}",
        match mode {
            metal_netboot::Mode::Dhcp => "dhcp",
            metal_netboot::Mode::Proxy => "proxy",
        },
        addrs
            .dhcp
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(","),
        addrs.tftp,
        show(addrs.http),
    );
    let printer = async move {
        while let Ok(e) = events.recv().await {
            println!(
                "event mac={} stage={} from={} message={}",
                e.mac, e.stage, e.from, e.message
            );
        }
        std::future::pending::<()>().await;
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = server.run() => r.context("netboot service stopped")?,
        _ = printer => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(metal_types::ExitCode::OK)
}
