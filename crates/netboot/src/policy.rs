//! What a MAC boots, and where the boot's credentials and events are kept. The netboot service
//! asks a [`BootPolicy`]; it never decides or stores by itself.
//!
//! [`ConfigPolicy`] answers from the configuration file and keeps grants in memory; `metal-ops`
//! implements the same trait over the inventory, which keeps grants and events in its store.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

use futures::future::BoxFuture;
use metal_types::{BootEvent, MacAddr};

use crate::config::{Config, HostAction};
use crate::grant::{Grant, ends_boot};

/// What to do with a machine that netboots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootAction {
    /// Boot the named profile's iPXE script.
    Profile(String),
    /// Leave the machine to its next boot device: the iPXE script is `exit`.
    LocalDisk,
    /// Do not netboot it at all: no boot file, no script.
    Ignore,
}

/// The policy's answer for one MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootDecision {
    /// A fixed address for this MAC (DHCP mode); `None` takes one from the dynamic range.
    pub address: Option<Ipv4Addr>,
    /// Host name sent as option 12 and passed to templates.
    pub hostname: Option<String>,
    /// What it boots.
    pub action: BootAction,
    /// What its hardware profile says about its Dom0, for its plan (`GET /plan/{mac}`);
    /// `None` leaves it to the netboot profile's values.
    pub hardware: Option<HardwareFacts>,
}

/// A machine's Dom0 facts from its hardware profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HardwareFacts {
    pub storage: Option<Storage>,
    pub dom0_memory_mib: Option<u32>,
}

/// Where an installer puts the Dom0.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Storage {
    pub layout: StorageLayout,
    /// How many disks the layout takes.
    pub disks: u8,
    /// The size of `vg00/root`; the rest of `vg00` is for guests.
    pub root_gib: u32,
}

impl Storage {
    pub const DEFAULT_ROOT_GIB: u32 = 4;
}

/// The disk layout under `vg00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageLayout {
    /// md RAID-10 over four disks.
    Raid10,
    /// md RAID-0 over two disks (SSDs).
    Raid0,
    /// One disk, no array.
    Single,
}

impl StorageLayout {
    /// The number of disks the layout is built for.
    pub fn disks(self) -> u8 {
        match self {
            StorageLayout::Raid10 => 4,
            StorageLayout::Raid0 => 2,
            StorageLayout::Single => 1,
        }
    }
}

impl std::str::FromStr for StorageLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raid10" => Ok(StorageLayout::Raid10),
            "raid0" => Ok(StorageLayout::Raid0),
            "single" => Ok(StorageLayout::Single),
            other => Err(format!(
                "storage {other:?} is not a layout (raid10, raid0, single)"
            )),
        }
    }
}

/// The policy could not answer (for example, the inventory's store is unreachable).
#[derive(Debug, thiserror::Error)]
#[error("boot policy failed: {0}")]
pub struct PolicyError(pub Box<dyn std::error::Error + Send + Sync>);

/// Decides what a MAC boots, and keeps its boots' grants and events. `decide` is called on
/// every DHCP exchange and script request, so it should be cheap; all are async so a
/// store-backed implementation can query.
pub trait BootPolicy: Send + Sync + 'static {
    /// The decision for `mac`.
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>>;

    /// Keeps `grant` as the credentials of `mac`'s current boot, replacing any earlier one.
    fn issue(&self, mac: MacAddr, grant: Grant) -> BoxFuture<'_, Result<(), PolicyError>>;

    /// The credentials of `mac`'s current boot, if it has any.
    fn grant(&self, mac: MacAddr) -> BoxFuture<'_, Result<Option<Grant>, PolicyError>>;

    /// Keeps an authenticated event and acts on it, before the client hears that it was
    /// accepted. An event that [`ends_boot`] withdraws the boot's grant in the same step.
    /// Returns what to tell the operator about what it did, if anything.
    fn record<'a>(
        &'a self,
        event: &'a BootEvent,
    ) -> BoxFuture<'a, Result<Option<String>, PolicyError>>;
}

/// The policy of the configuration file: `[[hosts]]` entries, else `default_profile`. Grants
/// live in memory (a restart ends every boot's grant); events are kept by the server's
/// in-memory record.
#[derive(Debug)]
pub struct ConfigPolicy {
    hosts: HashMap<MacAddr, BootDecision>,
    default: BootDecision,
    grants: Mutex<HashMap<MacAddr, Grant>>,
}

impl ConfigPolicy {
    /// Builds the policy from a checked configuration.
    pub fn new(config: &Config) -> ConfigPolicy {
        let default = BootDecision {
            address: None,
            hostname: None,
            action: BootAction::Profile(config.default_profile.clone()),
            hardware: None,
        };
        let hosts = config
            .hosts
            .iter()
            .map(|h| {
                let profile = h.profile.as_ref().unwrap_or(&config.default_profile);
                let action = match h.action {
                    HostAction::Netboot => BootAction::Profile(profile.clone()),
                    HostAction::LocalDisk => BootAction::LocalDisk,
                    HostAction::Ignore => BootAction::Ignore,
                };
                let decision = BootDecision {
                    address: h.ip,
                    hostname: h.hostname.clone(),
                    action,
                    hardware: None,
                };
                (h.mac, decision)
            })
            .collect();
        ConfigPolicy {
            hosts,
            default,
            grants: Mutex::default(),
        }
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, HashMap<MacAddr, Grant>> {
        // Nothing panics while holding the lock (inserts, lookups and removals only).
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl BootPolicy for ConfigPolicy {
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>> {
        let decision = self.hosts.get(&mac).unwrap_or(&self.default).clone();
        Box::pin(async move { Ok(decision) })
    }

    fn issue(&self, mac: MacAddr, grant: Grant) -> BoxFuture<'_, Result<(), PolicyError>> {
        self.grants().insert(mac, grant);
        Box::pin(async { Ok(()) })
    }

    fn grant(&self, mac: MacAddr) -> BoxFuture<'_, Result<Option<Grant>, PolicyError>> {
        let grant = self.grants().get(&mac).cloned();
        Box::pin(async move { Ok(grant) })
    }

    fn record<'a>(
        &'a self,
        event: &'a BootEvent,
    ) -> BoxFuture<'a, Result<Option<String>, PolicyError>> {
        if ends_boot(&event.stage) {
            self.grants().remove(&event.mac);
        }
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn known_mac_gets_its_entry_unknown_the_default() {
        let config = Config::parse(crate::config::tests_example()).unwrap();
        let policy = ConfigPolicy::new(&config);
        let known = policy
            .decide("52:54:00:00:00:01".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(known.action, BootAction::Profile("special".into()));
        assert_eq!(known.address, Some(Ipv4Addr::new(10, 99, 0, 50)));
        let unknown = policy
            .decide("52:54:00:00:00:99".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(unknown.action, BootAction::Profile("linux".into()));
        assert_eq!(unknown.address, None);
    }
}
