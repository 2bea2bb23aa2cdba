//! Discovery: which addresses answer AMT WS-Man on 16992/16993, and which firmware. Probes
//! are unauthenticated (they cost no login attempt); a board serving TLS shows its
//! certificate, whose pin the caller may keep.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use metal_amt::Discovered;
use metal_wsman::TransportOptions;
use serde::Serialize;

use crate::{Config, Error, Progress, targets};

/// What a scan found.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoverReport {
    pub probed: usize,
    pub found: Vec<Discovered>,
}

/// Probes every address, `parallel` at once; returns what answered, in address order.
pub async fn probe_all(
    hosts: &[IpAddr],
    parallel: usize,
    options: Arc<TransportOptions>,
    progress: &dyn Progress,
) -> Vec<Discovered> {
    progress.begin("discover", hosts.len());
    let mut found: Vec<Discovered> = futures::stream::iter(hosts.iter().copied())
        .map(|address| metal_amt::discover::probe(address, options.clone()))
        .buffer_unordered(parallel.max(1))
        .inspect(|_| progress.advance())
        .filter_map(std::future::ready)
        .collect()
        .await;
    progress.end();
    found.sort_by_key(|d| d.address);
    found
}

/// The transport of discovery probes: the probe timeout, a short read timeout, and pins kept
/// in memory (a scan records nothing in the known-hosts file).
pub fn probe_options(config: &Config) -> TransportOptions {
    TransportOptions {
        connect_timeout: config.probe_timeout,
        read_timeout: Duration::from_secs(5),
        ..TransportOptions::default()
    }
}

/// `discover TARGETS`.
pub async fn discover(
    config: &Config,
    specs: &[String],
    progress: &dyn Progress,
) -> Result<DiscoverReport, Error> {
    let hosts: Vec<IpAddr> = targets::resolve(config, specs)
        .await?
        .into_iter()
        .map(|r| r.host)
        .collect();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let options = Arc::new(probe_options(config));
    let found = probe_all(&hosts, config.parallel, options, progress).await;
    Ok(DiscoverReport {
        probed: hosts.len(),
        found,
    })
}
