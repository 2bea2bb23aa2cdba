//! The address pool and its leases, persisted so that a restart never hands an address twice.
//!
//! Every change is written before the reply that depends on it is sent: to the lease file (a
//! JSON list, replaced atomically by rename) of a server on its own, or, for servers sharing a
//! segment, to a [`LeaseStore`] they share, which takes each claim only if no other client
//! holds the address (the pool then only computes the changes: [`Leases::shared`]). Offers are
//! recorded too, with a short lifetime, so an address offered just before a restart (or by the
//! other server) is not offered to someone else just after it.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use metal_types::MacAddr;
use serde::{Deserialize, Serialize};

/// How long an offered address is held for the client that was offered it (RFC 2131 §4.3.1:
/// the server "SHOULD" reserve the offered address; the client has this long to request it).
pub const OFFER_HOLD_SECS: u64 = 60;

/// The lease file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// I/O on the lease file.
    #[error("lease file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The shared lease store failed.
    #[error("shared leases: {0}")]
    Store(String),
    /// The lease file exists but is not a lease list.
    #[error("lease file {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// The state of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseState {
    /// Offered in a DHCPOFFER, not yet requested.
    Offered,
    /// Acknowledged with a DHCPACK.
    Bound,
    /// The client declined it (RFC 2131 §3.1 step 5: someone else uses it); held until expiry.
    Declined,
}

/// One address and who holds it until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The address.
    pub ip: Ipv4Addr,
    /// Its holder.
    pub mac: MacAddr,
    /// Offered, bound or declined.
    pub state: LeaseState,
    /// Unix time (seconds) after which the address is free again.
    pub expires: u64,
}

/// Leases kept where every server of a segment sees them (the inventory's database), so two
/// servers never hand out one address twice.
pub trait LeaseStore: Send + Sync + 'static {
    /// Every lease of the segment, expired or not.
    fn load(&self) -> BoxFuture<'_, Result<Vec<Lease>, LeaseError>>;

    /// Takes `lease` for its MAC, atomically: refused (`false`) while another MAC holds an
    /// unexpired lease on the address at `now`. A bound lease replaces the MAC's other leases
    /// (but a declined one); an offer does not: every server on the segment offers to each
    /// DISCOVER, and the client picks one.
    fn claim(&self, lease: Lease, now: u64) -> BoxFuture<'_, Result<bool, LeaseError>>;

    /// DHCPRELEASE: frees `ip` if `mac` holds it.
    fn release(&self, mac: MacAddr, ip: Ipv4Addr) -> BoxFuture<'_, Result<bool, LeaseError>>;
}

/// A change a shared pool computed, for its [`LeaseStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseChange {
    Claim(Lease),
    Release { mac: MacAddr, ip: Ipv4Addr },
}

/// The pool: a dynamic range, addresses excluded from it, and the leases.
#[derive(Debug)]
pub struct Leases {
    /// The lease file; `None` for a shared pool, whose changes wait in `pending`.
    path: Option<PathBuf>,
    pending: Vec<LeaseChange>,
    first: u32,
    last: u32,
    excluded: HashSet<Ipv4Addr>,
    by_ip: BTreeMap<Ipv4Addr, Lease>,
}

impl Leases {
    /// Opens the lease file (missing means empty). `range` is the dynamic pool, inclusive;
    /// `excluded` are addresses never handed out dynamically (static reservations, the server).
    pub fn open(
        path: &Path,
        range: [Ipv4Addr; 2],
        excluded: HashSet<Ipv4Addr>,
    ) -> Result<Leases, LeaseError> {
        let io = |source| LeaseError::Io {
            path: path.to_path_buf(),
            source,
        };
        let list: Vec<Lease> = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| LeaseError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        Ok(Leases {
            path: Some(path.to_path_buf()),
            pending: Vec::new(),
            first: range[0].into(),
            last: range[1].into(),
            excluded,
            by_ip: list.into_iter().map(|l| (l.ip, l)).collect(),
        })
    }

    /// A pool whose leases live in a [`LeaseStore`]: load them with [`Leases::replace`] before
    /// an exchange, and hand [`Leases::take_pending`] to the store after it.
    pub fn shared(range: [Ipv4Addr; 2], excluded: HashSet<Ipv4Addr>) -> Leases {
        Leases {
            path: None,
            pending: Vec::new(),
            first: range[0].into(),
            last: range[1].into(),
            excluded,
            by_ip: BTreeMap::new(),
        }
    }

    /// Replaces the picture of the leases (of a shared pool, with the store's).
    pub fn replace(&mut self, leases: Vec<Lease>) {
        self.pending.clear();
        self.by_ip = leases.into_iter().map(|l| (l.ip, l)).collect();
    }

    /// The changes made since the last call (a shared pool's; a file's are written at once).
    pub fn take_pending(&mut self) -> Vec<LeaseChange> {
        std::mem::take(&mut self.pending)
    }

    /// The lease of `ip`, expired or not.
    pub fn get(&self, ip: Ipv4Addr) -> Option<&Lease> {
        self.by_ip.get(&ip)
    }

    /// Whether `ip` belongs to the dynamic range.
    pub fn in_range(&self, ip: Ipv4Addr) -> bool {
        (self.first..=self.last).contains(&u32::from(ip))
    }

    /// Whether `mac` may be given `ip` now: nobody else holds an unexpired lease on it.
    pub fn available_to(&self, ip: Ipv4Addr, mac: MacAddr, now: u64) -> bool {
        match self.by_ip.get(&ip) {
            None => true,
            Some(l) if l.expires <= now => true,
            Some(l) => l.mac == mac && l.state != LeaseState::Declined,
        }
    }

    /// Whether `mac` may bind `ip` of the dynamic range (a DHCPREQUEST for it): in the range,
    /// not excluded, and nobody else holds it. With servers sharing a segment the client may
    /// hold another server's offer too, so this is not "the address [`Leases::pick`] gives".
    pub fn bindable(&self, ip: Ipv4Addr, mac: MacAddr, now: u64) -> bool {
        self.in_range(ip) && !self.excluded.contains(&ip) && self.available_to(ip, mac, now)
    }

    /// An address of the dynamic range for `mac` (RFC 2131 §4.3.1, in this order): the one it
    /// already holds or held, else the one it asks for (option 50) if free, else the first free
    /// one. `None` when the range is exhausted. Never an address outside the range.
    pub fn pick(&self, mac: MacAddr, requested: Option<Ipv4Addr>, now: u64) -> Option<Ipv4Addr> {
        let usable = |ip: Ipv4Addr| {
            self.in_range(ip) && !self.excluded.contains(&ip) && self.available_to(ip, mac, now)
        };
        let previous = self
            .by_ip
            .values()
            .filter(|l| l.mac == mac && l.state != LeaseState::Declined)
            .map(|l| l.ip)
            .find(|ip| usable(*ip));
        previous.or(requested.filter(|ip| usable(*ip))).or_else(|| {
            (self.first..=self.last)
                .map(Ipv4Addr::from)
                .find(|ip| usable(*ip))
        })
    }

    /// Records that `ip` is offered to or bound by `mac` until `expires`, and writes the file.
    /// Any other lease `mac` held is dropped: a client holds one address.
    pub fn record(
        &mut self,
        mac: MacAddr,
        ip: Ipv4Addr,
        state: LeaseState,
        expires: u64,
    ) -> Result<(), LeaseError> {
        self.by_ip
            .retain(|other, l| *other == ip || l.mac != mac || l.state == LeaseState::Declined);
        let lease = Lease {
            ip,
            mac,
            state,
            expires,
        };
        self.by_ip.insert(ip, lease.clone());
        if self.path.is_none() {
            self.pending.push(LeaseChange::Claim(lease));
        }
        self.save()
    }

    /// DHCPRELEASE (RFC 2131 §4.3.4): the client gives `ip` up.
    pub fn release(&mut self, mac: MacAddr, ip: Ipv4Addr) -> Result<bool, LeaseError> {
        match self.by_ip.get(&ip) {
            Some(l) if l.mac == mac && l.state != LeaseState::Declined => {
                self.by_ip.remove(&ip);
                if self.path.is_none() {
                    self.pending.push(LeaseChange::Release { mac, ip });
                }
                self.save()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn save(&self) -> Result<(), LeaseError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |source| LeaseError::Io {
            path: path.clone(),
            source,
        };
        let list: Vec<&Lease> = self.by_ip.values().collect();
        let json = serde_json::to_vec_pretty(&list).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> MacAddr {
        MacAddr([0x52, 0x54, 0, 0, 0, n])
    }

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, 0, n)
    }

    fn pool(dir: &Path) -> Leases {
        Leases::open(
            &dir.join("leases.json"),
            [ip(100), ip(102)],
            [ip(101)].into(),
        )
        .unwrap()
    }

    #[test]
    fn picks_skip_excluded_and_held_and_stop_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = pool(dir.path());
        assert_eq!(p.pick(mac(1), None, 0), Some(ip(100)));
        p.record(mac(1), ip(100), LeaseState::Offered, 100).unwrap();
        assert_eq!(p.pick(mac(2), None, 0), Some(ip(102)), "101 is excluded");
        p.record(mac(2), ip(102), LeaseState::Bound, 100).unwrap();
        assert_eq!(p.pick(mac(3), None, 0), None, "exhausted");
        assert_eq!(
            p.pick(mac(3), None, 100),
            Some(ip(100)),
            "expired leases are reused"
        );
        assert_eq!(
            p.pick(mac(1), Some(ip(102)), 0),
            Some(ip(100)),
            "keeps its own"
        );
    }

    #[test]
    fn requested_address_is_honoured_only_inside_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let p = pool(dir.path());
        assert_eq!(p.pick(mac(1), Some(ip(102)), 0), Some(ip(102)));
        assert_eq!(p.pick(mac(1), Some(ip(7)), 0), Some(ip(100)));
        assert_eq!(p.pick(mac(1), Some(ip(101)), 0), Some(ip(100)));
    }

    #[test]
    fn restart_keeps_leases() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = pool(dir.path());
        p.record(mac(1), ip(100), LeaseState::Bound, 1000).unwrap();
        drop(p);
        let p = pool(dir.path());
        assert_eq!(p.pick(mac(2), None, 10), Some(ip(102)));
        assert_eq!(p.pick(mac(1), None, 10), Some(ip(100)));
    }

    #[test]
    fn a_client_holds_one_address_and_can_release_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = pool(dir.path());
        p.record(mac(1), ip(100), LeaseState::Offered, 100).unwrap();
        p.record(mac(1), ip(102), LeaseState::Bound, 100).unwrap();
        assert!(p.get(ip(100)).is_none());
        assert!(!p.release(mac(2), ip(102)).unwrap(), "not its lease");
        assert!(p.release(mac(1), ip(102)).unwrap());
        assert!(p.get(ip(102)).is_none());
    }

    #[test]
    fn declined_addresses_are_not_reoffered_until_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = pool(dir.path());
        p.record(mac(1), ip(100), LeaseState::Declined, 50).unwrap();
        assert_eq!(p.pick(mac(1), None, 0), Some(ip(102)));
        assert_eq!(p.pick(mac(1), None, 50), Some(ip(100)));
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_pool() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("leases.json"), "{").unwrap();
        let r = Leases::open(
            &dir.path().join("leases.json"),
            [ip(100), ip(102)],
            HashSet::new(),
        );
        assert!(matches!(r, Err(LeaseError::Corrupt { .. })));
    }
}
