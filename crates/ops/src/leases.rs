//! The DHCP leases of `metal serve --inventory` in DHCP mode, kept in the inventory so that
//! every server sharing its database (one PostgreSQL for several servers on a segment) sees
//! and respects the others' leases. The segment is the subnet the servers hand out.

use std::net::Ipv4Addr;

use futures::future::BoxFuture;
use metal_inventory::{LeaseKind, LeaseRecord, Store};
use metal_netboot::leases::{Lease, LeaseError, LeaseState, LeaseStore};
use metal_types::MacAddr;

/// The leases of one segment in the inventory.
#[derive(Debug, Clone)]
pub struct InventoryLeases {
    store: Store,
    segment: String,
}

impl InventoryLeases {
    pub fn new(store: Store, segment: impl Into<String>) -> Self {
        Self {
            store,
            segment: segment.into(),
        }
    }
}

fn failed(e: metal_inventory::Error) -> LeaseError {
    LeaseError::Store(e.to_string())
}

fn to_record(l: &Lease) -> LeaseRecord {
    LeaseRecord {
        ip: l.ip,
        mac: l.mac,
        kind: match l.state {
            LeaseState::Offered => LeaseKind::Offered,
            LeaseState::Bound => LeaseKind::Bound,
            LeaseState::Declined => LeaseKind::Declined,
        },
        expires: l.expires,
    }
}

fn from_record(r: LeaseRecord) -> Lease {
    Lease {
        ip: r.ip,
        mac: r.mac,
        state: match r.kind {
            LeaseKind::Offered => LeaseState::Offered,
            LeaseKind::Bound => LeaseState::Bound,
            LeaseKind::Declined => LeaseState::Declined,
        },
        expires: r.expires,
    }
}

impl LeaseStore for InventoryLeases {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Lease>, LeaseError>> {
        Box::pin(async move {
            let records = self.store.leases(&self.segment).await.map_err(failed)?;
            Ok(records.into_iter().map(from_record).collect())
        })
    }

    fn claim(&self, lease: Lease, now: u64) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            self.store
                .claim_lease(&self.segment, &to_record(&lease), now)
                .await
                .map_err(failed)
        })
    }

    fn release(&self, mac: MacAddr, ip: Ipv4Addr) -> BoxFuture<'_, Result<bool, LeaseError>> {
        Box::pin(async move {
            self.store
                .release_lease(&self.segment, mac, ip)
                .await
                .map_err(failed)
        })
    }
}
