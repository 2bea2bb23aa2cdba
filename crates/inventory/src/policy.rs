//! The netboot [`BootPolicy`] backed by the inventory: what a MAC boots follows its machine's
//! state and hardware profile.
//!
//! | state | boots |
//! |---|---|
//! | `enrolled`, `provisioning` | its profile's netboot profile (the installer, or the diskless image) |
//! | `deployed`, diskless | its netboot profile again (a diskless Dom0 lives in RAM) |
//! | `deployed`, with disks | the local disk |
//! | `new` (no profile), `broken`, `retired`, unknown MAC | nothing: no boot file, no script |

use futures::future::BoxFuture;
use metal_netboot::policy::{BootAction, BootDecision, BootPolicy, PolicyError};
use metal_types::MacAddr;

use crate::model::{Machine, MachineState};
use crate::profiles::Storage;
use crate::store::Store;

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

/// The decision for a recorded machine.
pub fn decide(machine: &Machine) -> BootDecision {
    let netboot = machine.netboot.clone();
    let diskless = machine.storage.as_deref() == Some(Storage::Diskless.as_str());
    let action = match (machine.state, netboot) {
        (MachineState::Enrolled | MachineState::Provisioning, Some(p)) => BootAction::Profile(p),
        (MachineState::Deployed, Some(p)) if diskless => BootAction::Profile(p),
        (MachineState::Deployed, _) => BootAction::LocalDisk,
        _ => BootAction::Ignore,
    };
    BootDecision {
        address: machine.address.parse().ok(),
        hostname: Some(machine.hostname.clone()),
        action,
    }
}

impl BootPolicy for InventoryPolicy {
    fn decide(&self, mac: MacAddr) -> BoxFuture<'_, Result<BootDecision, PolicyError>> {
        Box::pin(async move {
            let machine = self
                .store
                .machine_by_mac(&mac.to_string())
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
