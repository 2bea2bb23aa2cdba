//! `metal discover CIDR`: which addresses answer AMT WS-Man on 16992/16993, and which firmware.

use std::net::IpAddr;
use std::sync::Arc;

use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use futures::StreamExt;
use metal_amt::Discovered;
use metal_wsman::TransportOptions;
use serde::Serialize;

use super::common::{expand_targets, progress};

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// CIDR blocks, addresses, or comma-separated lists of them.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Addresses probed at once.
    #[arg(long, default_value_t = 256)]
    pub parallel: usize,
    /// Seconds to wait for each port to accept a connection.
    #[arg(long, default_value_t = 1.0)]
    pub connect_timeout: f64,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct DiscoverReport {
    pub command: &'static str,
    pub probed: usize,
    pub found: Vec<Discovered>,
}

/// Probes every address; returns what answered, in address order.
pub async fn discover(
    hosts: &[String],
    parallel: usize,
    options: Arc<TransportOptions>,
    mut on_done: impl FnMut(),
) -> Vec<Discovered> {
    let mut found: Vec<Discovered> = futures::stream::iter(hosts.iter())
        .filter_map(|h| std::future::ready(h.parse::<IpAddr>().ok()))
        .map(|address| metal_amt::discover::probe(address, options.clone()))
        .buffer_unordered(parallel.max(1))
        .inspect(|_| on_done())
        .filter_map(std::future::ready)
        .collect()
        .await;
    found.sort_by_key(|d| d.address);
    found
}

pub async fn run(args: DiscoverArgs) -> anyhow::Result<i32> {
    let hosts = expand_targets(&args.targets)?;
    if !(args.connect_timeout.is_finite() && args.connect_timeout > 0.0) {
        anyhow::bail!("--connect-timeout must be a positive number of seconds");
    }
    let options = Arc::new(TransportOptions {
        connect_timeout: std::time::Duration::from_secs_f64(args.connect_timeout),
        read_timeout: std::time::Duration::from_secs(5),
        ..TransportOptions::default()
    });
    let bar = progress(hosts.len(), "discover", args.json);
    let found = discover(&hosts, args.parallel, options, || bar.inc(1)).await;
    bar.finish_and_clear();
    if args.json {
        let doc = DiscoverReport {
            command: "discover",
            probed: hosts.len(),
            found,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(metal_types::ExitCode::OK);
    }
    print_found(&found, hosts.len());
    Ok(metal_types::ExitCode::OK)
}

/// The human-readable listing of discovered boards.
pub fn print_found(found: &[Discovered], probed: usize) {
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(vec!["ADDRESS", "HTTP 16992", "TLS 16993", "AMT VERSION"]);
    let yes = |b: bool| if b { "yes" } else { "-" }.to_string();
    for d in found {
        table.add_row(vec![
            d.address.to_string(),
            yes(d.http),
            yes(d.tls),
            d.version
                .clone()
                .or_else(|| d.server.clone())
                .unwrap_or_else(|| "unknown".into()),
        ]);
    }
    println!("{table}");
    println!("{} AMT endpoints among {probed} addresses", found.len());
}
