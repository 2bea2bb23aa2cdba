//! The netboot service as `metal serve` runs it: `metal-netboot` with what a MAC boots decided
//! by the configuration's `[[hosts]]` or by the inventory ([`InventoryPolicy`]), and boot
//! events applied to the inventory (a provisioning machine that reports itself up becomes
//! deployed).
//!
//! | state | boots |
//! |---|---|
//! | `enrolled`, `provisioning` | its profile's netboot profile (the installer, or the diskless image) |
//! | `deployed`, diskless | its netboot profile again (a diskless Dom0 lives in RAM) |
//! | `deployed`, with disks | the local disk |
//! | `new` (no profile), `broken`, `retired`, unknown MAC | nothing: no boot file, no script |

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use metal_inventory::{Machine, MachineState, Storage, Store};
use metal_netboot::policy::{BootAction, BootDecision, BootPolicy, PolicyError};
pub use metal_netboot::{Addresses, Mode};
use metal_netboot::{ConfigPolicy, Netboot};
use metal_types::{BootEvent, MacAddr};
use tokio::sync::broadcast::error::RecvError;

use crate::{Config, Error, inventory};

/// Decides boots from the inventory.
#[derive(Debug, Clone)]
pub struct InventoryPolicy {
    store: Store,
}

impl InventoryPolicy {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// The decision for a recorded machine (the table in the module docs).
pub fn decide(machine: &Machine) -> BootDecision {
    let diskless = machine.storage == Some(Storage::Diskless);
    let action = match (machine.state, machine.netboot.clone()) {
        (MachineState::Enrolled | MachineState::Provisioning, Some(p)) => BootAction::Profile(p),
        (MachineState::Deployed, Some(p)) if diskless => BootAction::Profile(p),
        (MachineState::Deployed, _) => BootAction::LocalDisk,
        _ => BootAction::Ignore,
    };
    BootDecision {
        address: match machine.address {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        },
        hostname: Some(machine.hostname.clone()),
        action,
    }
}

impl BootPolicy for InventoryPolicy {
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>> {
        Box::pin(async move {
            let machine = self
                .store
                .machine_by_mac(mac)
                .await
                .map_err(|e| PolicyError(Box::new(e)))?;
            Ok(match machine {
                Some(m) => decide(&m),
                None => BootDecision {
                    address: None,
                    hostname: None,
                    action: BootAction::Ignore,
                },
            })
        })
    }
}

/// Boot-event stages that mean the machine is up in its final role.
const DEPLOYED_STAGES: [&str; 2] = ["booted", "deployed"];

/// Applies a boot event to the inventory: a provisioning machine that reports itself up
/// becomes deployed. Returns what to tell the operator, if anything.
pub async fn apply_event(store: &Store, event: &BootEvent) -> Option<String> {
    if !DEPLOYED_STAGES.contains(&event.stage.as_str()) {
        return None;
    }
    let machine = match store.machine_by_mac(event.mac).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Some(format!(
                "inventory: no machine has MAC {}; event not recorded",
                event.mac
            ));
        }
        Err(e) => return Some(format!("inventory: {e}")),
    };
    if machine.state != MachineState::Provisioning {
        return None;
    }
    let reason = format!("boot event {}: {}", event.stage, event.message);
    let host = &machine.hostname;
    Some(
        match store
            .set_state(host, MachineState::Deployed, "netboot", &reason)
            .await
        {
            Ok(_) => format!("inventory: {host} is deployed"),
            Err(e) => format!("inventory: {host}: {e}"),
        },
    )
}

/// What the running service reports.
#[derive(Debug, Clone)]
pub enum ServiceLog {
    /// A boot event arrived.
    Event(BootEvent),
    /// What applying an event to the inventory did (or why it could not).
    Inventory(String),
}

/// The netboot service, bound and ready.
pub struct Service {
    server: Netboot,
    store: Option<Store>,
    pub mode: Mode,
    pub addresses: Addresses,
}

impl Service {
    /// Binds DHCP (or proxyDHCP), TFTP and HTTP from the netboot configuration file; with
    /// `use_inventory`, boots follow the inventory and events are applied to it.
    pub async fn start(
        config: &Config,
        netboot_config: &Path,
        use_inventory: bool,
    ) -> Result<Service, Error> {
        let netboot = metal_netboot::Config::load(netboot_config)
            .map_err(|e| Error::Netboot(e.to_string()))?;
        let mode = netboot.mode;
        let store = if use_inventory {
            Some(inventory::open(config).await?)
        } else {
            None
        };
        let policy: Arc<dyn BootPolicy> = match &store {
            Some(store) => Arc::new(InventoryPolicy::new(store.clone())),
            None => Arc::new(ConfigPolicy::new(&netboot)),
        };
        let server = Netboot::bind(netboot, policy).await.map_err(|e| {
            Error::Netboot(format!(
                "starting the netboot service from {}: {e}",
                netboot_config.display()
            ))
        })?;
        let addresses = server.addresses();
        Ok(Service {
            server,
            store,
            mode,
            addresses,
        })
    }

    /// Serves until the service fails or `log` (which hears every event and what it did)
    /// cannot write.
    pub async fn run(
        self,
        mut log: impl FnMut(ServiceLog) -> std::io::Result<()> + Send,
    ) -> Result<(), Error> {
        let mut events = self.server.events().subscribe();
        let store = self.store;
        let recorder = async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let applied = match &store {
                            Some(store) => apply_event(store, &event).await,
                            None => None,
                        };
                        log(ServiceLog::Event(event))?;
                        if let Some(line) = applied {
                            log(ServiceLog::Inventory(line))?;
                        }
                    }
                    Err(RecvError::Lagged(n)) => log(ServiceLog::Inventory(format!(
                        "inventory: {n} boot events arrived faster than they could be applied and were skipped"
                    )))?,
                    Err(RecvError::Closed) => break,
                }
            }
            std::future::pending::<std::io::Result<()>>().await
        };
        tokio::select! {
            r = self.server.run() => r.map_err(|e| Error::Netboot(format!("netboot service stopped: {e}"))),
            r = recorder => r.map_err(Error::Output),
        }
    }
}

/// `tftp serve DIR --listen ADDR`: the read-only TFTP server on its own, bound.
pub fn tftp(dir: &Path, listen: SocketAddr) -> Result<metal_netboot::tftp::TftpService, Error> {
    metal_netboot::tftp::bind(dir, listen).map_err(|e| {
        Error::Netboot(format!(
            "TFTP server for {} on {listen}: {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(state: MachineState, storage: Option<Storage>) -> Machine {
        Machine {
            state,
            storage,
            profile: storage.map(|_| "p".into()),
            netboot: storage.map(|s| format!("dom0-{s}")),
            ..metal_test_support::records::machine("r01-h01")
        }
    }

    #[test]
    fn decisions_follow_state_and_storage() {
        use MachineState::*;
        let diskless = Some(Storage::Diskless);
        let raid = Some(Storage::Raid10);
        let profile = |s: &str| BootAction::Profile(s.into());
        assert_eq!(
            decide(&machine(Enrolled, raid)).action,
            profile("dom0-raid10")
        );
        assert_eq!(
            decide(&machine(Provisioning, raid)).action,
            profile("dom0-raid10")
        );
        assert_eq!(
            decide(&machine(Deployed, diskless)).action,
            profile("dom0-diskless")
        );
        assert_eq!(
            decide(&machine(Deployed, raid)).action,
            BootAction::LocalDisk
        );
        for ignored in [New, Broken, Retired] {
            assert_eq!(decide(&machine(ignored, raid)).action, BootAction::Ignore);
        }
        assert_eq!(decide(&machine(New, None)).action, BootAction::Ignore);
        let d = decide(&machine(Enrolled, raid));
        assert_eq!(d.address, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(d.hostname.as_deref(), Some("r01-h01"));
    }
}
