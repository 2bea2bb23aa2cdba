//! The DNS records the inventory implies, shared by the zone files and RFC 2136 updates.
//!
//! For each Dom0: `<host> A <address>` and `amt.<host> A <AMT address>`; for each DomU:
//! `<vm> A <address>` and `parent.<vm> CNAME <dom0>` (so `parent.backend01.host.h` →
//! `hardware01.host.h`, as application engineers look it up); a PTR for every Dom0 and DomU
//! address in the reverse zone of its /24.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use metal_inventory::{Guest, Machine, MachineState};

/// Record data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Data {
    A(Ipv4Addr),
    /// Target, fully qualified (with the trailing dot).
    Cname(String),
    /// Target, fully qualified (with the trailing dot).
    Ptr(String),
}

/// One record: owner name relative to its zone, and data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DnsRecord {
    pub name: String,
    pub data: Data,
}

impl Data {
    pub fn type_name(&self) -> &'static str {
        match self {
            Data::A(_) => "A",
            Data::Cname(_) => "CNAME",
            Data::Ptr(_) => "PTR",
        }
    }
}

/// `zone` as an absolute name (`host.h.`).
pub fn absolute(zone: &str) -> String {
    format!("{}.", zone.trim_end_matches('.'))
}

/// The IPv4 address an A or PTR record can carry (IPv6 would be AAAA, not published yet).
fn v4(address: &IpAddr) -> Option<Ipv4Addr> {
    match address {
        IpAddr::V4(a) => Some(*a),
        IpAddr::V6(_) => None,
    }
}

/// The machines DNS and monitoring publish: every one not retired.
pub fn published(machines: &[Machine]) -> impl Iterator<Item = &Machine> {
    machines.iter().filter(|m| m.state != MachineState::Retired)
}

/// The forward zone's records.
pub fn forward(zone: &str, machines: &[Machine], guests: &[Guest]) -> Vec<DnsRecord> {
    let origin = absolute(zone);
    let mut out = Vec::new();
    for m in published(machines) {
        if let Some(a) = v4(&m.address) {
            out.push(DnsRecord {
                name: m.hostname.clone(),
                data: Data::A(a),
            });
        }
        if let Some(a) = v4(&m.amt_address) {
            out.push(DnsRecord {
                name: format!("amt.{}", m.hostname),
                data: Data::A(a),
            });
        }
    }
    for g in guests {
        if let Some(a) = v4(&g.address) {
            out.push(DnsRecord {
                name: g.name.clone(),
                data: Data::A(a),
            });
        }
        out.push(DnsRecord {
            name: format!("parent.{}", g.name),
            data: Data::Cname(format!("{}.{origin}", g.dom0)),
        });
    }
    out.sort();
    out
}

/// The reverse zones (`c.b.a.in-addr.arpa`, one per /24) and their PTR records.
pub fn reverse(
    zone: &str,
    machines: &[Machine],
    guests: &[Guest],
) -> BTreeMap<String, Vec<DnsRecord>> {
    let origin = absolute(zone);
    let hosts = published(machines)
        .map(|m| (&m.address, m.hostname.as_str()))
        .chain(guests.iter().map(|g| (&g.address, g.name.as_str())));
    let mut zones: BTreeMap<String, Vec<DnsRecord>> = BTreeMap::new();
    for (address, name) in hosts {
        let Some(a) = v4(address) else { continue };
        let [o1, o2, o3, o4] = a.octets();
        zones
            .entry(format!("{o3}.{o2}.{o1}.in-addr.arpa"))
            .or_default()
            .push(DnsRecord {
                name: o4.to_string(),
                data: Data::Ptr(format!("{name}.{origin}")),
            });
    }
    for records in zones.values_mut() {
        records.sort();
    }
    zones
}
