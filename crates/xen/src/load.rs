//! A Dom0's load, from what Xen and Dom0's kernel count (a Dom0's `/proc/meminfo` and
//! `/proc/stat` see only Dom0's own share of the machine):
//! - `xl info`: CPUs, the machine's total and free memory (xl(1), "info");
//! - `xl list`: each domain's memory, vCPUs and cumulative CPU seconds (xl(1), "list");
//! - the block backend's counters per virtual disk, `/sys/bus/xen-backend/devices/vbd-D-N/
//!   statistics/{rd_sect,wr_sect}` (Linux `Documentation/ABI/testing/sysfs-driver-xen-blkback`);
//! - each guest interface's bytes, `/sys/class/net/vifD.N/statistics/{rx,tx}_bytes`;
//! - the physical disks' busy time, field 13 of `/proc/diskstats` (milliseconds spent doing
//!   I/O; Linux `Documentation/admin-guide/iostats.rst`).
//!
//! [`Sample`] is one reading of all of them; two readings make a [`Load`] (rates and busy
//! shares over the time between them). Parsing is strict about what it uses and ignores the
//! rest, and every number is checked: a missing or malformed field is an error naming it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("`xl info` has no {0} line")]
    MissingInfo(&'static str),
    #[error("`xl info` {field} is {value:?}, not a number")]
    BadInfo { field: &'static str, value: String },
    #[error("`xl list` line {line}: {reason}")]
    BadList { line: usize, reason: String },
}

/// What `xl info` says about the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub nr_cpus: u32,
    pub total_memory_mib: u64,
    pub free_memory_mib: u64,
}

/// Parse `xl info` (`key : value` lines).
pub fn parse_xl_info(text: &str) -> Result<HostInfo, LoadError> {
    let field = |name: &'static str| -> Result<u64, LoadError> {
        let value = text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim())
            })
            .ok_or(LoadError::MissingInfo(name))?;
        value.parse().map_err(|_| LoadError::BadInfo {
            field: name,
            value: value.chars().take(64).collect(),
        })
    };
    let nr_cpus = field("nr_cpus")?;
    Ok(HostInfo {
        nr_cpus: u32::try_from(nr_cpus).map_err(|_| LoadError::BadInfo {
            field: "nr_cpus",
            value: nr_cpus.to_string(),
        })?,
        total_memory_mib: field("total_memory")?,
        free_memory_mib: field("free_memory")?,
    })
}

/// One line of `xl list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    pub name: String,
    pub id: u32,
    pub memory_mib: u64,
    pub vcpus: u32,
    /// `xl list`'s state letters (`r` running, `b` blocked, `p` paused, `s` shut down, `c`
    /// crashed, `d` dying), dashes kept.
    pub state: String,
    pub cpu_seconds: f64,
}

/// Parse `xl list`: a header, then `Name ID Mem VCPUs State Time(s)` per domain.
pub fn parse_xl_list(text: &str) -> Result<Vec<Domain>, LoadError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() || (i == 0 && cols[0] == "Name") {
            continue;
        }
        let bad = |reason: &str| LoadError::BadList {
            line: line_no,
            reason: reason.to_string(),
        };
        // A domain that is being created may not have its time yet.
        if cols.len() < 5 {
            return Err(bad("fewer than five columns"));
        }
        let num = |s: &str, what: &str| -> Result<u64, LoadError> {
            s.parse()
                .map_err(|_| bad(&format!("{what} is not a number")))
        };
        let cpu_seconds = match cols.get(5) {
            Some(t) => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad("Time(s) is not a number"))?,
            None => 0.0,
        };
        out.push(Domain {
            name: cols[0].chars().take(64).collect(),
            id: u32::try_from(num(cols[1], "ID")?).map_err(|_| bad("ID out of range"))?,
            memory_mib: num(cols[2], "Mem")?,
            vcpus: u32::try_from(num(cols[3], "VCPUs")?).map_err(|_| bad("VCPUs out of range"))?,
            state: cols[4].chars().take(8).collect(),
            cpu_seconds,
        });
    }
    Ok(out)
}

/// Cumulative counters of one domain's disks and interfaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// One reading of everything, at `at_secs` (a monotonic clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at_secs: f64,
    pub host: HostInfo,
    pub domains: Vec<Domain>,
    /// By domain ID.
    pub traffic: BTreeMap<u32, Traffic>,
    /// Milliseconds the busiest physical disk under the guests' volumes spent doing I/O.
    pub disk_busy_ms: u64,
}

/// A domain's load between two samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainLoad {
    pub name: String,
    pub id: u32,
    pub memory_mib: u64,
    pub vcpus: u32,
    pub state: String,
    /// Share of the machine's CPUs (0..1).
    pub cpu_share: f64,
    /// Share of the disks' busy time, by its part of all guests' disk bytes (0..1).
    pub io_share: f64,
    pub read_bps: f64,
    pub write_bps: f64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// A Dom0's load: what placement and the dashboard read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub window_secs: f64,
    pub host: HostInfo,
    /// Busy shares (0..1) of the machine's CPUs and of its disks.
    pub cpu_busy: f64,
    pub io_busy: f64,
    pub domains: Vec<DomainLoad>,
}

impl Load {
    /// The load between `earlier` and `later`; a domain that appeared in between counts from
    /// zero, counters that went backwards (a domain re-created with the same ID) count as zero.
    pub fn between(earlier: &Sample, later: &Sample) -> Load {
        let window = (later.at_secs - earlier.at_secs).max(1e-3);
        let cpus = f64::from(later.host.nr_cpus.max(1));
        let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / window;
        let io_busy =
            (later.disk_busy_ms.saturating_sub(earlier.disk_busy_ms) as f64 / 1000.0 / window)
                .clamp(0.0, 1.0);
        let mut domains: Vec<DomainLoad> = later
            .domains
            .iter()
            .map(|d| {
                let before = earlier.domains.iter().find(|e| e.id == d.id);
                let cpu = before.map_or(0.0, |b| (d.cpu_seconds - b.cpu_seconds).max(0.0));
                let now = later.traffic.get(&d.id).copied().unwrap_or_default();
                let then = earlier.traffic.get(&d.id).copied().unwrap_or_default();
                DomainLoad {
                    name: d.name.clone(),
                    id: d.id,
                    memory_mib: d.memory_mib,
                    vcpus: d.vcpus,
                    state: d.state.clone(),
                    cpu_share: (cpu / window / cpus).clamp(0.0, 1.0),
                    io_share: 0.0,
                    read_bps: rate(now.read_bytes, then.read_bytes),
                    write_bps: rate(now.write_bytes, then.write_bytes),
                    rx_bps: rate(now.rx_bytes, then.rx_bytes),
                    tx_bps: rate(now.tx_bytes, then.tx_bytes),
                }
            })
            .collect();
        let disk_bps: f64 = domains.iter().map(|d| d.read_bps + d.write_bps).sum();
        if disk_bps > 0.0 {
            for d in &mut domains {
                d.io_share = io_busy * (d.read_bps + d.write_bps) / disk_bps;
            }
        }
        let cpu_busy = domains
            .iter()
            .map(|d| d.cpu_share)
            .sum::<f64>()
            .clamp(0.0, 1.0);
        Load {
            window_secs: window,
            host: later.host,
            cpu_busy,
            io_busy,
            domains,
        }
    }
}

/// The busy milliseconds (field 13) of the named disks in `/proc/diskstats`, the largest.
pub fn parse_diskstats_busy_ms(text: &str, disks: &[&str]) -> u64 {
    text.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 13 && disks.contains(&cols[2]))
                .then(|| cols[12].parse::<u64>().ok())
                .flatten()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
