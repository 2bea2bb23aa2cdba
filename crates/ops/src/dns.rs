//! DNS: the zone files the inventory implies (`export dns`), and bringing a live zone in line
//! with them (`dns sync`, RFC 2136 UPDATE signed with TSIG, see `metal_export::update`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metal_export::records::{self, DnsRecord};
use metal_export::update::{self, TsigKey};
use metal_export::zone::{self, ZoneOptions};
use metal_inventory::{Guest, Machine, Store};
use metal_types::DnsName;
use metal_types::ExitCode;
use serde::Serialize;

use crate::{Config, Error, inventory};

/// The zone a command publishes.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The forward zone, e.g. `host.h`.
    pub name: DnsName,
    /// Default TTL in seconds.
    pub ttl: u32,
}

impl Zone {
    /// DNS names are case-insensitive: names are compared and recorded in lower case, without
    /// the final dot.
    fn canonical(&self) -> String {
        self.name.to_string()
    }
}

/// What a zone file needs besides the records.
#[derive(Debug, Clone)]
pub struct ZoneFileOptions {
    pub zone: Zone,
    /// The zone's name server, relative to the zone.
    pub ns: DnsName,
    pub ns_address: Ipv4Addr,
    /// SOA serial; `None`: the current Unix time.
    pub serial: Option<u32>,
}

/// A zone file: its name and text.
#[derive(Debug, Clone)]
pub struct ZoneFile {
    pub name: String,
    pub text: String,
}

/// The forward zone and one reverse zone per /24 used.
#[derive(Debug, Clone)]
pub struct ZoneFiles {
    pub forward: ZoneFile,
    pub reverse: Vec<ZoneFile>,
}

/// Every machine and guest of the inventory.
pub async fn snapshot(config: &Config) -> Result<(Vec<Machine>, Vec<Guest>), Error> {
    let store = inventory::require(config).await?;
    let machines = store.machines().await?;
    let guests = store.guests().await?;
    store.close().await;
    Ok((machines, guests))
}

/// The zone files of `machines` and `guests`.
pub fn zone_files(opts: &ZoneFileOptions, machines: &[Machine], guests: &[Guest]) -> ZoneFiles {
    let zone_opts = ZoneOptions {
        zone: opts.zone.name.to_string(),
        serial: opts.serial.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        }),
        ttl: opts.zone.ttl,
        ns: opts.ns.to_string(),
        ns_address: opts.ns_address,
    };
    let forward = records::forward(&zone_opts.zone, machines, guests);
    let forward = ZoneFile {
        name: zone_opts.zone.clone(),
        text: zone::render(&zone_opts, &zone_opts.zone, &forward, true),
    };
    let reverse = records::reverse(&zone_opts.zone, machines, guests)
        .into_iter()
        .map(|(name, recs)| ZoneFile {
            text: zone::render(&zone_opts, &name, &recs, false),
            name,
        })
        .collect();
    ZoneFiles { forward, reverse }
}

/// `export dns`: the inventory's zone files.
pub async fn export(config: &Config, opts: &ZoneFileOptions) -> Result<ZoneFiles, Error> {
    let (machines, guests) = snapshot(config).await?;
    Ok(zone_files(opts, &machines, &guests))
}

/// Where and how `dns sync` sends.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub zone: Zone,
    /// The primary server.
    pub server: SocketAddr,
    /// The TSIG key file as `tsig-keygen` writes it.
    pub key_file: PathBuf,
    /// Also the reverse (in-addr.arpa) zones.
    pub reverse: bool,
    pub timeout: Duration,
}

/// One zone's result.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneSync {
    pub zone: String,
    pub ok: bool,
    /// Records the zone now holds from the inventory.
    pub records: usize,
    /// Signed UPDATE messages sent.
    pub messages: usize,
    /// Names an earlier sync published that the inventory no longer has, deleted now.
    pub deleted: Vec<String>,
    pub error: Option<String>,
}

/// The `dns sync` report.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub server: SocketAddr,
    pub zones: Vec<ZoneSync>,
}

impl SyncReport {
    /// The fleet rule over zones: some failed 2, all failed 3.
    pub fn exit_code(&self) -> i32 {
        let failed = self.zones.iter().filter(|z| !z.ok).count();
        ExitCode::for_fleet(self.zones.len() - failed, failed)
    }
}

/// `dns sync`: replaces every inventory name's records in the zone with the inventory's, and
/// deletes the names an earlier sync published that the inventory no longer has; other names
/// are left alone. The forward zone first; a zone that fails does not stop the others.
pub async fn sync(config: &Config, req: &SyncRequest) -> Result<SyncReport, Error> {
    let text = std::fs::read_to_string(&req.key_file).map_err(Error::io(&req.key_file))?;
    let key = TsigKey::parse_bind(&text)
        .map_err(|e| Error::Usage(format!("TSIG key file {}: {e}", req.key_file.display())))?;
    let store = inventory::require(config).await?;
    let machines = store.machines().await?;
    let guests = store.guests().await?;
    let zone = req.zone.canonical();
    let mut reverse = BTreeMap::new();
    if req.reverse {
        reverse = records::reverse(&zone, &machines, &guests);
        // A reverse zone synced before in which the inventory implies nothing now still has
        // names to delete.
        for published in store.dns_zones().await? {
            if published.ends_with(".in-addr.arpa") {
                reverse.entry(published).or_default();
            }
        }
    }
    let plan =
        std::iter::once((zone.clone(), records::forward(&zone, &machines, &guests))).chain(reverse);
    let mut zones = Vec::new();
    for (name, recs) in plan {
        zones.push(match sync_zone(&store, req, &key, &name, &recs).await {
            Ok((messages, deleted)) => ZoneSync {
                zone: name,
                ok: true,
                records: recs.len(),
                messages,
                deleted,
                error: None,
            },
            Err(e) => ZoneSync {
                zone: name,
                ok: false,
                records: 0,
                messages: 0,
                deleted: Vec::new(),
                error: Some(e.to_string()),
            },
        });
    }
    store.close().await;
    Ok(SyncReport {
        server: req.server,
        zones,
    })
}

/// Brings one zone in line with the inventory; returns the messages sent and the names deleted.
async fn sync_zone(
    store: &Store,
    req: &SyncRequest,
    key: &TsigKey,
    name: &str,
    recs: &[DnsRecord],
) -> Result<(usize, Vec<String>), Error> {
    let before = store.dns_names(name).await?;
    let now: BTreeSet<String> = recs.iter().map(|r| r.name.to_ascii_lowercase()).collect();
    let stale: Vec<String> = before.difference(&now).cloned().collect();
    // Recorded before sending, so that a sync failing halfway still knows every name it may
    // have published; narrowed to the inventory's names once the server took them all.
    store
        .set_dns_names(name, &before.union(&now).cloned().collect())
        .await?;
    let messages = update::messages(name, recs, &stale, req.zone.ttl)?;
    let sent = if messages.is_empty() {
        0
    } else {
        update::send(req.server, key, messages, req.timeout).await?
    };
    store.set_dns_names(name, &now).await?;
    Ok((sent, stale))
}
