//! `metal export dns|nagios|prometheus`: the inventory as a BIND zone (plus reverse zones),
//! Nagios objects, or Prometheus file_sd targets.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use metal_export::zone::ZoneOptions;
use metal_export::{nagios, prometheus, records, zone};
use metal_inventory::{Guest, Machine};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// A BIND zone: A for hosts and AMT interfaces, parent.<vm> CNAME <dom0>; with --out also
    /// the reverse zones (PTR) of every /24 used.
    Dns(DnsExportArgs),
    /// Nagios host objects with parents (DomU -> Dom0) and hostgroups per rack and role.
    Nagios(NagiosArgs),
    /// Prometheus file_sd targets.
    Prometheus(PrometheusArgs),
}

/// The zone options shared with `metal dns sync`.
#[derive(Debug, Clone, Args)]
pub struct ZoneArgs {
    /// The forward zone, e.g. host.h.
    #[arg(long)]
    pub zone: String,
    /// Default TTL in seconds.
    #[arg(long, default_value_t = 300)]
    pub ttl: u32,
}

#[derive(Debug, Args)]
pub struct DnsExportArgs {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// The zone's name server, relative to the zone.
    #[arg(long, default_value = "ns")]
    pub ns: String,
    /// The name server's address.
    #[arg(long, default_value = "127.0.0.1")]
    pub ns_address: Ipv4Addr,
    /// SOA serial [default: the current Unix time].
    #[arg(long)]
    pub serial: Option<u32>,
    /// Write ZONE.zone and one in-addr.arpa zone per /24 into this directory instead of
    /// printing the forward zone.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NagiosArgs {
    /// The host template every host uses (Nagios' sample linux-server sets the check
    /// attempts, periods and contacts a host needs).
    #[arg(long, default_value = "linux-server")]
    pub template: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PrometheusArgs {
    /// The exporter port on every host (node_exporter: 9100).
    #[arg(long, default_value_t = 9100)]
    pub port: u16,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Every machine and guest.
pub async fn inventory() -> anyhow::Result<(Vec<Machine>, Vec<Guest>)> {
    let Some(store) = super::inventory::open_existing().await? else {
        bail!("there is no inventory yet (`metal enroll` creates it, or pass --db)");
    };
    let machines = store.machines().await?;
    let guests = store.guests().await?;
    store.close().await;
    Ok((machines, guests))
}

fn write(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            // Write then rename, so a reader (named, nagios) never sees half a file.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The forward zone text and the reverse zones (name, text).
pub fn zones(
    args: &DnsExportArgs,
    machines: &[Machine],
    guests: &[Guest],
) -> (String, Vec<(String, String)>) {
    let opts = ZoneOptions {
        zone: args.zone.zone.trim_end_matches('.').to_string(),
        serial: args.serial.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() as u32)
        }),
        ttl: args.zone.ttl,
        ns: args.ns.clone(),
        ns_address: args.ns_address,
    };
    let fwd = records::forward(&opts.zone, machines, guests);
    let forward = zone::render(&opts, &opts.zone, &fwd, true);
    let reverse = records::reverse(&opts.zone, machines, guests)
        .into_iter()
        .map(|(name, recs)| {
            let text = zone::render(&opts, &name, &recs, false);
            (name, text)
        })
        .collect();
    (forward, reverse)
}

pub async fn run(args: ExportArgs) -> anyhow::Result<i32> {
    let (machines, guests) = inventory().await?;
    match args.what {
        ExportWhat::Dns(a) => {
            let (forward, reverse) = zones(&a, &machines, &guests);
            match &a.out {
                None => write(None, &forward)?,
                Some(dir) => {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    let zone = a.zone.zone.trim_end_matches('.');
                    write(Some(&dir.join(format!("{zone}.zone"))), &forward)?;
                    for (name, text) in &reverse {
                        write(Some(&dir.join(format!("{name}.zone"))), text)?;
                    }
                    eprintln!(
                        "wrote {zone}.zone and {} reverse zones to {}",
                        reverse.len(),
                        dir.display()
                    );
                }
            }
        }
        ExportWhat::Nagios(a) => write(
            a.out.as_deref(),
            &nagios::render(&machines, &guests, &a.template),
        )?,
        ExportWhat::Prometheus(a) => write(
            a.out.as_deref(),
            &prometheus::render(&machines, &guests, a.port),
        )?,
    }
    Ok(metal_types::ExitCode::OK)
}
