//! `metal-agent load`: two readings of this Dom0's counters a window apart, as the JSON of
//! [`metal_xen::load::Load`] (what the daemon reports to `metal` and placement reads).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use metal_xen::load::{self, LoadError, Sample, Traffic};

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("running xl {command}: {source}")]
    Spawn {
        command: &'static str,
        source: std::io::Error,
    },
    #[error("xl {command} failed: {stderr}")]
    Failed {
        command: &'static str,
        stderr: String,
    },
    #[error("{0}")]
    Parse(#[from] LoadError),
}

/// Where the kernel shows the block backend's and the guests' interfaces' counters.
const BACKENDS: &str = "/sys/bus/xen-backend/devices";
const NET: &str = "/sys/class/net";

/// One reading; `disks` are the kernel names (`vda`, `md0`) of the devices under the guests'
/// volume group, whose busy time is the Dom0's IO load.
pub fn sample(started: Instant, disks: &[String]) -> Result<Sample, SampleError> {
    let info = load::parse_xl_info(&xl("info")?)?;
    let domains = load::parse_xl_list(&xl("list")?)?;
    let diskstats = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    let names: Vec<&str> = disks.iter().map(String::as_str).collect();
    Ok(Sample {
        at_secs: started.elapsed().as_secs_f64(),
        host: info,
        domains,
        traffic: traffic(Path::new(BACKENDS), Path::new(NET)),
        disk_busy_ms: load::parse_diskstats_busy_ms(&diskstats, &names),
    })
}

/// Two samples `window` apart.
pub fn measure(window: Duration, disks: &[String]) -> Result<load::Load, SampleError> {
    let started = Instant::now();
    let a = sample(started, disks)?;
    std::thread::sleep(window);
    let b = sample(started, disks)?;
    Ok(load::Load::between(&a, &b))
}

fn xl(command: &'static str) -> Result<String, SampleError> {
    let out = Command::new("xl")
        .arg(command)
        .output()
        .map_err(|source| SampleError::Spawn { command, source })?;
    if !out.status.success() {
        return Err(SampleError::Failed {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Per domain ID: the sectors its virtual disks read and wrote (`vbd-DOMID-DEVID`), and the
/// bytes of its interfaces (`vifDOMID.N`). A vif's counters are Dom0's side of the link: what
/// the vif receives, the guest sent.
fn traffic(backends: &Path, net: &Path) -> BTreeMap<u32, Traffic> {
    let mut out: BTreeMap<u32, Traffic> = BTreeMap::new();
    let counter = |p: &Path| -> u64 {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    for (domid, stats) in by_domain(backends, "vbd-", '-') {
        let t = out.entry(domid).or_default();
        t.read_bytes = t
            .read_bytes
            .saturating_add(counter(&stats.join("rd_sect")).saturating_mul(512));
        t.write_bytes = t
            .write_bytes
            .saturating_add(counter(&stats.join("wr_sect")).saturating_mul(512));
    }
    for (domid, stats) in by_domain(net, "vif", '.') {
        let t = out.entry(domid).or_default();
        t.tx_bytes = t.tx_bytes.saturating_add(counter(&stats.join("rx_bytes")));
        t.rx_bytes = t.rx_bytes.saturating_add(counter(&stats.join("tx_bytes")));
    }
    out
}

/// The `statistics` folders of `dir`'s entries named `PREFIX<domid><sep>…`, with the domain ID.
fn by_domain(dir: &Path, prefix: &str, sep: char) -> Vec<(u32, PathBuf)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let domid = name
                .strip_prefix(prefix)
                .and_then(|r| r.split(sep).next())
                .and_then(|d| d.parse::<u32>().ok())?;
            Some((domid, entry.path().join("statistics")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, v: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }

    #[test]
    fn counters_are_summed_per_domain_and_a_vif_is_seen_from_the_guest() {
        let d = tempfile::tempdir().unwrap();
        let (be, net) = (d.path().join("be"), d.path().join("net"));
        write(&be.join("vbd-3-51712/statistics/rd_sect"), "10\n");
        write(&be.join("vbd-3-51712/statistics/wr_sect"), "4\n");
        write(&be.join("vbd-3-51728/statistics/rd_sect"), "6\n");
        write(&be.join("vbd-3-51728/statistics/wr_sect"), "garbage\n");
        write(&be.join("vif-3-0/statistics/rd_sect"), "999\n");
        write(&net.join("vif3.0/statistics/rx_bytes"), "700\n");
        write(&net.join("vif3.0/statistics/tx_bytes"), "300\n");
        write(&net.join("xenbr0/statistics/rx_bytes"), "5\n");
        let t = traffic(&be, &net);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[&3],
            Traffic {
                read_bytes: 16 * 512,
                write_bytes: 4 * 512,
                rx_bytes: 300,
                tx_bytes: 700,
            }
        );
    }
}
