//! `metal serve`: the netboot service (DHCP or proxyDHCP, TFTP, HTTP) from a TOML file.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use metal_inventory::{InventoryPolicy, MachineState, Store};
use metal_netboot::policy::BootPolicy;
use metal_netboot::{Config, ConfigPolicy, Netboot};

/// Run the netboot service: DHCP/proxyDHCP, TFTP and HTTP (iPXE scripts, images, boot events).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Netboot configuration (TOML; see `metal_netboot::config`).
    #[arg(long, short, env = "METAL_NETBOOT_CONFIG")]
    pub config: PathBuf,
    /// Decide what each MAC boots from the inventory (`--db`) instead of the `[[hosts]]` of the
    /// configuration, and record boot callbacks there: a `booted` or `deployed` event from a
    /// provisioning machine marks it deployed.
    #[arg(long)]
    pub inventory: bool,
}

/// Boot-event stages that mean the machine is up in its final role.
const DEPLOYED_STAGES: &[&str] = &["booted", "deployed"];

/// Applies a boot event to the inventory: a provisioning machine that reports itself up
/// becomes deployed. Returns what to print.
async fn record_event(store: &Store, mac: &str, stage: &str, message: &str) -> Option<String> {
    if !DEPLOYED_STAGES.contains(&stage) {
        return None;
    }
    let machine = match store.machine_by_mac(mac).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Some(format!(
                "inventory: no machine has MAC {mac}; event not recorded"
            ));
        }
        Err(e) => return Some(format!("inventory: {e}")),
    };
    if machine.state != MachineState::Provisioning {
        return None;
    }
    let reason = format!("boot event {stage}: {message}");
    Some(
        match store
            .set_state(
                &machine.hostname,
                MachineState::Deployed,
                "netboot",
                &reason,
            )
            .await
        {
            Ok(_) => format!("inventory: {} is deployed", machine.hostname),
            Err(e) => format!("inventory: {}: {e}", machine.hostname),
        },
    )
}

/// Binds everything, prints one `ready` line, then one `event` line per boot event, until
/// interrupted (SIGINT or SIGTERM).
pub async fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config)?;
    let mode = config.mode;
    let store = if args.inventory {
        Some(super::inventory::open().await?)
    } else {
        None
    };
    let policy: Arc<dyn BootPolicy> = match &store {
        Some(store) => Arc::new(InventoryPolicy::new(store.clone())),
        None => Arc::new(ConfigPolicy::new(&config)),
    };
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
            if let Some(store) = &store
                && let Some(line) =
                    record_event(store, &e.mac.to_string(), &e.stage, &e.message).await
            {
                println!("{line}");
            }
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
