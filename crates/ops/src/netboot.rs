//! The netboot service as `metal serve` runs it: `metal-netboot` with what a MAC boots decided
//! by the configuration's `[[hosts]]` or by the inventory ([`InventoryPolicy`]), each boot's
//! token kept in the inventory, and boot events logged there before they are accepted (a
//! provisioning machine that reports itself up becomes deployed, in the same transaction),
//! and, in DHCP mode, the leases kept there as well, so that several servers sharing the
//! inventory's database serve one segment without handing out an address twice.
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
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use metal_inventory::{BootGrant, BootReport, Machine, MachineState, Storage, Store};
use metal_netboot::grant::ends_boot;
use metal_netboot::policy::{
    BootAction, BootDecision, BootPolicy, HardwareFacts, PolicyError, StorageLayout,
};
pub use metal_netboot::{Addresses, Mode};
use metal_netboot::{ConfigPolicy, Netboot};
use metal_netboot::{Grant, Heard};
use metal_types::{BootDevice, BootEvent, HostOutcome, MacAddr};
use tokio::sync::broadcast::error::RecvError;

use crate::leases::InventoryLeases;
use crate::progress::Silent;
use crate::{Config, Error, inventory, metrics};

/// How long setting a deployed machine's disk boot over AMT may hold up the answer to its
/// installer, which gives each call 20 s (`CALL_DEADLINE` in `images/initramfs/common.sh`).
const DISK_BOOT_DEADLINE: Duration = Duration::from_secs(12);

/// Decides boots from the inventory, and sets a machine that deployed onto its disks to
/// boot from them over AMT (with `config`'s credentials).
#[derive(Debug, Clone)]
pub struct InventoryPolicy {
    store: Store,
    config: Config,
}

impl InventoryPolicy {
    pub fn new(store: Store, config: Config) -> Self {
        Self { store, config }
    }

    /// A machine installed on its disks just deployed: its next boot is its disk, set over
    /// AMT before the installer's `deployed` call is answered (so before it reboots). Should
    /// that fail, the netboot server still sends it to its disk (the `LocalDisk` decision);
    /// the returned line says which happened.
    async fn boot_from_disk(&self, hostname: &str) -> String {
        let target = [hostname.to_string()];
        let config = self.config.clone();
        // The board workflows' futures are not provably `Send` (rustc cannot see through
        // their higher-ranked closures), and a policy's futures must be: the call runs on a
        // blocking thread of this runtime instead.
        // The installer waits for the answer to `deployed` (20 s a try): the board gets what is
        // left of that, and the call its own deadline.
        let runtime = tokio::runtime::Handle::current();
        let outcome = tokio::task::spawn_blocking(move || {
            runtime.block_on(async {
                let boot = crate::boot::boot(&config, BootDevice::Disk, false, &target, &Silent);
                tokio::time::timeout(DISK_BOOT_DEADLINE, boot)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::Netboot(format!(
                            "no answer from the board within {} s",
                            DISK_BOOT_DEADLINE.as_secs()
                        )))
                    })
            })
        })
        .await
        .map_err(|e| Error::Netboot(format!("setting the boot device: {e}")))
        .and_then(|r| r);
        let failed = match outcome {
            Ok(report) => match report.hosts.into_iter().next().map(|h| h.outcome) {
                Some(HostOutcome::Ok(_)) => {
                    return format!("{hostname}: next boot set to disk over AMT");
                }
                Some(HostOutcome::Failed { error }) => error.message,
                None => "no such board".to_string(),
            },
            Err(e) => e.to_string(),
        };
        format!(
            "{hostname}: the next boot could not be set to disk over AMT ({failed}); the netboot server sends it to its disk instead"
        )
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
        hardware: Some(hardware_facts(machine)),
    }
}

/// The Dom0 facts of a machine's hardware profile, for its plan: the array over the disks it
/// was matched with (a diskless machine installs nothing), and Dom0's fixed memory.
fn hardware_facts(machine: &Machine) -> HardwareFacts {
    let layout = match machine.storage {
        Some(Storage::Raid10) => Some(StorageLayout::Raid10),
        Some(Storage::SsdRaid0) => Some(StorageLayout::Raid0),
        Some(Storage::Diskless) | None => None,
    };
    HardwareFacts {
        storage: layout.map(|layout| metal_netboot::Storage {
            layout,
            disks: layout.disks(),
            root_gib: machine
                .root_gib
                .unwrap_or(metal_netboot::Storage::DEFAULT_ROOT_GIB),
        }),
        dom0_memory_mib: machine.dom0_memory_mib,
    }
}

impl BootPolicy for InventoryPolicy {
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>> {
        Box::pin(async move {
            let started = Instant::now();
            let machine = self
                .store
                .machine_by_mac(mac)
                .await
                .map_err(|e| PolicyError(Box::new(e)))?;
            metrics::netboot_decision("decide", started.elapsed());
            Ok(match machine {
                Some(m) => decide(&m),
                None => BootDecision {
                    address: None,
                    hostname: None,
                    action: BootAction::Ignore,
                    hardware: None,
                },
            })
        })
    }

    fn issue(&self, mac: MacAddr, grant: Grant) -> BoxFuture<'_, Result<(), PolicyError>> {
        Box::pin(async move {
            let grant = BootGrant {
                token_sha256: grant.token_sha256,
                address: grant.address,
                issued_ms: grant.issued_ms,
            };
            self.store
                .grant_boot(mac, &grant)
                .await
                .map_err(|e| PolicyError(Box::new(e)))
        })
    }

    fn grant(&self, mac: MacAddr) -> BoxFuture<'_, Result<Option<Grant>, PolicyError>> {
        Box::pin(async move {
            let grant = self
                .store
                .boot_grant(mac)
                .await
                .map_err(|e| PolicyError(Box::new(e)))?;
            Ok(grant.map(|g| Grant {
                token_sha256: g.token_sha256,
                address: g.address,
                issued_ms: g.issued_ms,
            }))
        })
    }

    fn record<'a>(
        &'a self,
        event: &'a BootEvent,
    ) -> BoxFuture<'a, Result<Option<String>, PolicyError>> {
        Box::pin(async move {
            let started = Instant::now();
            let report = BootReport {
                stage: &event.stage,
                message: &event.message,
                from: event.from,
            };
            let moves_to = if DEPLOYED_STAGES.contains(&event.stage.as_str()) {
                Some(MachineState::Deployed)
            } else if event.stage == FAILED_STAGE {
                Some(MachineState::Broken)
            } else {
                None
            };
            let recorded = self
                .store
                .record_boot(event.mac, report, moves_to, ends_boot(&event.stage))
                .await
                .map_err(|e| PolicyError(Box::new(e)))?;
            metrics::netboot_decision("event", started.elapsed());
            metrics::boot_event(&event.stage);
            let Some(to) = recorded.moved_to else {
                return Ok(None);
            };
            let mut note = format!("inventory: {} is {}", recorded.hostname, to.as_str());
            let installed = recorded.storage.is_some_and(|s| s != Storage::Diskless);
            if to == MachineState::Deployed && installed {
                note = format!("{note}; {}", self.boot_from_disk(&recorded.hostname).await);
            }
            Ok(Some(note))
        })
    }
}

/// Boot-event stages that mean the machine is up in its final role: a provisioning machine
/// that reports one becomes deployed.
const DEPLOYED_STAGES: [&str; 2] = ["booted", "deployed"];

/// The stage an installer or Dom0 reports when it cannot go on: a provisioning machine that
/// reports it becomes broken, the message (the cause and the log's tail) its reason.
const FAILED_STAGE: &str = "failed";

/// What the running service reports.
#[derive(Debug, Clone)]
pub enum ServiceLog {
    /// A boot event was kept (or the server served a script).
    Event(BootEvent),
    /// What keeping an event did in the inventory, or how many log lines were skipped.
    Inventory(String),
}

/// How long a provisioning machine may stay silent (no boot event, no step) before it is
/// marked broken, unless `metal serve --provision-timeout` says otherwise. An install takes
/// minutes; half an hour leaves room for slow disks and a slow mirror.
pub const DEFAULT_PROVISION_TIMEOUT: Duration = Duration::from_secs(1800);

/// The netboot service, bound and ready.
pub struct Service {
    server: Netboot,
    /// With the inventory: the store and how long a provisioning machine may stay silent.
    watchdog: Option<(Store, Duration)>,
    pub mode: Mode,
    pub addresses: Addresses,
}

impl Service {
    /// Binds DHCP (or proxyDHCP), TFTP and HTTP from the netboot configuration file; with
    /// `use_inventory`, boots follow the inventory, events are applied to it, and a
    /// provisioning machine silent for `provision_timeout` becomes broken.
    pub async fn start(
        config: &Config,
        netboot_config: &Path,
        use_inventory: bool,
        provision_timeout: Duration,
    ) -> Result<Service, Error> {
        let mut netboot = metal_netboot::Config::load(netboot_config)
            .map_err(|e| Error::Netboot(e.to_string()))?;
        if netboot.dom0.agent_authority.is_none() {
            netboot.dom0.agent_authority = config.pki.clone();
        }
        let mode = netboot.mode;
        let store = if use_inventory {
            Some(inventory::open(config).await?)
        } else {
            None
        };
        let policy: Arc<dyn BootPolicy> = match &store {
            Some(store) => Arc::new(InventoryPolicy::new(store.clone(), config.clone())),
            None => Arc::new(ConfigPolicy::new(&netboot)),
        };
        // With the inventory, DHCP leases live there too: servers sharing its database on one
        // segment never hand out one address twice.
        let shared = match (&store, &netboot.dhcp) {
            (Some(store), Some(dhcp)) if mode == Mode::Dhcp => Some(Arc::new(
                InventoryLeases::new(store.clone(), dhcp.subnet.to_string()),
            )),
            _ => None,
        };
        let bound = match shared {
            Some(leases) => Netboot::bind_shared(netboot, policy, leases).await,
            None => Netboot::bind(netboot, policy).await,
        };
        let server = bound.map_err(|e| {
            Error::Netboot(format!(
                "starting the netboot service from {}: {e}",
                netboot_config.display()
            ))
        })?;
        let addresses = server.addresses();
        Ok(Service {
            server,
            watchdog: store.map(|s| (s, provision_timeout)),
            mode,
            addresses,
        })
    }

    /// Serves until the service fails or `log` (which hears every event, what it did, and
    /// which silent machines became broken) cannot write.
    pub async fn run(
        self,
        mut log: impl FnMut(ServiceLog) -> std::io::Result<()> + Send,
    ) -> Result<(), Error> {
        let mut events = self.server.events().subscribe();
        let (expired_tx, mut expired) = tokio::sync::mpsc::unbounded_channel::<String>();
        // Events are kept by the policy before they are accepted; this only shows them, so
        // falling behind loses log lines (counted), never events.
        let shown = async move {
            loop {
                tokio::select! {
                    heard = events.recv() => match heard {
                        Ok(Heard { event, note }) => {
                            log(ServiceLog::Event(event))?;
                            if let Some(line) = note {
                                log(ServiceLog::Inventory(line))?;
                            }
                        }
                        Err(RecvError::Lagged(n)) => log(ServiceLog::Inventory(format!(
                            "log: {n} boot events arrived faster than they could be shown (all are kept; see `metal events`)"
                        )))?,
                        Err(RecvError::Closed) => break,
                    },
                    Some(line) = expired.recv() => log(ServiceLog::Inventory(line))?,
                }
            }
            std::future::pending::<std::io::Result<()>>().await
        };
        let watchdog = async move {
            let Some((store, timeout)) = self.watchdog else {
                return std::future::pending::<()>().await;
            };
            watch_provisioning(&store, timeout, &expired_tx).await
        };
        tokio::select! {
            r = self.server.run() => r.map_err(|e| Error::Netboot(format!("netboot service stopped: {e}"))),
            r = shown => r.map_err(Error::Output),
            () = watchdog => Ok(()),
        }
    }
}

/// Every tenth of `timeout` (1 to 30 s), marks broken the provisioning machines silent for
/// `timeout`, and says so on `lines`; runs as long as the service does.
async fn watch_provisioning(
    store: &Store,
    timeout: Duration,
    lines: &tokio::sync::mpsc::UnboundedSender<String>,
) {
    let idle_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let every = (timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let said = match store.expire_provisioning(idle_ms).await {
            Ok(gone) => gone
                .into_iter()
                .map(|e| format!("inventory: {} is broken: {}", e.hostname, e.reason))
                .collect(),
            // A store that is away is reported and tried again at the next tick.
            Err(e) => vec![format!(
                "inventory: cannot check for silent provisioning machines: {e}"
            )],
        };
        for line in said {
            // Only a service that is stopping has no log left to tell.
            let _ = lines.send(line);
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
