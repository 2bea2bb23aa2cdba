//! `metal dns sync --zone ZONE --server ADDR --key-file FILE`: apply the inventory's records to
//! a live zone with RFC 2136 UPDATE messages signed with TSIG (see metal_export::update).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use metal_export::records::{self, DnsRecord};
use metal_export::update::{self, TsigKey};
use metal_inventory::Store;

use super::export::ZoneArgs;

#[derive(Debug, Args)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub op: DnsOp,
}

#[derive(Debug, Subcommand)]
pub enum DnsOp {
    /// Replace every inventory name's records in the zone with the inventory's, and delete the
    /// names an earlier sync published that the inventory no longer has (retired machines,
    /// removed guests); other names in the zone are left alone.
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// The primary server, ADDRESS:PORT.
    #[arg(long)]
    pub server: SocketAddr,
    /// TSIG key file as `tsig-keygen` writes it (key "NAME" { algorithm ...; secret "..."; };).
    #[arg(long)]
    pub key_file: PathBuf,
    /// Also update the reverse (in-addr.arpa) zones, which the server must then serve.
    #[arg(long)]
    pub reverse: bool,
    /// Seconds to wait for the server.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

pub async fn run(args: DnsArgs) -> anyhow::Result<i32> {
    let DnsOp::Sync(a) = args.op;
    let text = std::fs::read_to_string(&a.key_file)
        .with_context(|| format!("TSIG key file {}", a.key_file.display()))?;
    let key = TsigKey::parse_bind(&text)
        .with_context(|| format!("TSIG key file {}", a.key_file.display()))?;
    let Some(store) = super::inventory::open_existing().await? else {
        bail!("there is no inventory yet (`metal enroll` creates it, or pass --db)");
    };
    let machines = store.machines().await?;
    let guests = store.guests().await?;
    // DNS names are case-insensitive: names are compared and recorded in lower case.
    let zone = a.zone.zone.trim_end_matches('.').to_ascii_lowercase();
    let mut reverse = BTreeMap::new();
    if a.reverse {
        reverse = records::reverse(&zone, &machines, &guests);
        // A reverse zone synced before in which the inventory implies nothing now still has
        // names to delete.
        for published in store.dns_zones().await? {
            if published.ends_with(".in-addr.arpa") {
                reverse.entry(published).or_default();
            }
        }
    }
    // The forward zone first; a zone that fails does not stop the others.
    let plan =
        std::iter::once((zone.clone(), records::forward(&zone, &machines, &guests))).chain(reverse);
    let timeout = Duration::from_secs(a.timeout.max(1));
    let (mut zones, mut failed, mut total) = (0, 0, 0);
    for (name, recs) in plan {
        zones += 1;
        match sync_zone(&store, &a, &key, &name, &recs, timeout).await {
            Ok(line) => {
                println!("{line}");
                total += recs.len();
            }
            Err(e) => {
                failed += 1;
                println!("{name}: FAILED: {e:#}");
            }
        }
    }
    store.close().await;
    println!(
        "{total} records synced to {} ({} of {zones} zones)",
        a.server,
        zones - failed
    );
    Ok(match failed {
        0 => metal_types::ExitCode::OK,
        n if n == zones => metal_types::ExitCode::ALL_FAILED,
        _ => metal_types::ExitCode::PARTIAL,
    })
}

/// Brings one zone in line with the inventory; returns the line to print.
async fn sync_zone(
    store: &Store,
    a: &SyncArgs,
    key: &TsigKey,
    name: &str,
    recs: &[DnsRecord],
    timeout: Duration,
) -> anyhow::Result<String> {
    let before = store.dns_names(name).await?;
    let now: BTreeSet<String> = recs.iter().map(|r| r.name.to_ascii_lowercase()).collect();
    let stale: Vec<String> = before.difference(&now).cloned().collect();
    // Recorded before sending, so that a sync failing halfway still knows every name it may
    // have published; narrowed to the inventory's names once the server took them all.
    store
        .set_dns_names(name, &before.union(&now).cloned().collect())
        .await?;
    let messages = update::messages(name, recs, &stale, a.zone.ttl)?;
    let sent = if messages.is_empty() {
        0
    } else {
        update::send(a.server, key, messages, timeout).await?
    };
    store.set_dns_names(name, &now).await?;
    let deleted = if stale.is_empty() {
        String::new()
    } else {
        format!(
            "; {} names no longer in the inventory deleted: {}",
            stale.len(),
            stale.join(" ")
        )
    };
    Ok(format!(
        "{name}: {} records in {sent} signed UPDATE messages applied{deleted}",
        recs.len()
    ))
}
