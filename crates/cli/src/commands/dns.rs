//! `metal dns sync --zone ZONE --server ADDR --key-file FILE`: apply the inventory's records to
//! a live zone with RFC 2136 UPDATE messages signed with TSIG (see metal_export::update).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use metal_export::records;
use metal_export::update::{self, TsigKey};

use super::export::ZoneArgs;

#[derive(Debug, Args)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub op: DnsOp,
}

#[derive(Debug, Subcommand)]
pub enum DnsOp {
    /// Replace every inventory name's records in the zone with the inventory's.
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
    let (machines, guests) = super::export::inventory().await?;
    let zone = a.zone.zone.trim_end_matches('.').to_string();
    let mut plan = vec![(zone.clone(), records::forward(&zone, &machines, &guests))];
    if a.reverse {
        plan.extend(records::reverse(&zone, &machines, &guests));
    }
    let timeout = Duration::from_secs(a.timeout.max(1));
    let mut total = 0;
    for (name, recs) in plan {
        let messages = update::messages(&name, &recs, a.zone.ttl)?;
        let sent = update::send(a.server, &key, messages, timeout)
            .await
            .with_context(|| format!("zone {name}"))?;
        println!(
            "{name}: {} records in {sent} signed UPDATE messages applied",
            recs.len()
        );
        total += recs.len();
    }
    println!("{total} records synced to {}", a.server);
    Ok(metal_types::ExitCode::OK)
}
