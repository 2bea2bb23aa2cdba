//! Hardware profiles (`hardware-profiles/*.toml`): rules on what AMT reports about a board
//! and what follows from a match (storage layout, Dom0 memory, role, netboot profile).
//!
//! ```toml
//! description = "8 GB, four HDDs in RAID-10"
//! [match]
//! board_maker = "Intel"      # substring, case-insensitive
//! board_model = "NUC9V7QNB"  # substring, case-insensitive
//! memory_gib = 8             # total memory, rounded to whole GiB
//! disks = 4
//! disk_kind = "hdd"          # hdd | ssd | any (every disk must be of the kind)
//! cpu_model = "i7-9850H"     # substring of every processor's model, case-insensitive
//! [provision]
//! storage = "raid10"         # diskless | raid10 | ssd-raid0
//! dom0_memory_mib = 2048
//! root_gib = 8               # vg00/root on installed storage; default 4 (the plan's)
//! role = "storage"
//! netboot = "dom0-raid10"    # the netboot profile; default dom0-<storage>
//! [acceptance]               # what `metal verify` requires besides the match rules
//! amt_min = "11.0"           # lowest AMT firmware accepted (default: any)
//! power_on_secs = 60         # an off → on round trip must finish within this (default 60)
//! sol_secs = 120             # the console must print within this after power-on (default 120)
//! pxe_secs = 180             # a one-shot PXE boot must fetch its boot script within this (default 180)
//! burnin_secs = 1800         # `verify --burnin`: the whole burn-in must report within this (default 1800)
//! cpu_bogo_ops_min = 2000    # below these the component is DEGRADED, not failed (default: no floor):
//! memory_mb_s_min = 4000     #   stress-ng bogo ops/s over all CPUs, stressapptest MB/s,
//! disk_mib_s_min = 50        #   fio MiB/s of each disk
//! ```
//! A profile's name is its file name without `.toml`. Every rule given must hold; a board that
//! matches no profile, or more than one, is not provisioned, and the reason is recorded.

use std::path::Path;

use metal_types::hardware::Hardware;
use serde::Deserialize;

use crate::Error;
use crate::model::{BoardFacts, Role, Storage};

/// The kind every disk must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DiskKind {
    #[default]
    Any,
    Hdd,
    Ssd,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rules {
    board_maker: Option<String>,
    board_model: Option<String>,
    memory_gib: Option<u64>,
    disks: Option<usize>,
    #[serde(default)]
    disk_kind: DiskKind,
    cpu_model: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Provision {
    storage: Storage,
    dom0_memory_mib: u32,
    root_gib: Option<u32>,
    role: String,
    netboot: Option<String>,
}

/// `[acceptance]`: what factory acceptance (`metal verify`) requires of a unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptanceFile {
    amt_min: Option<String>,
    power_on_secs: Option<u32>,
    sol_secs: Option<u32>,
    pxe_secs: Option<u32>,
    burnin_secs: Option<u32>,
    cpu_bogo_ops_min: Option<u32>,
    memory_mb_s_min: Option<u32>,
    disk_mib_s_min: Option<u32>,
}

/// What factory acceptance requires of a unit besides the match rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// The lowest AMT firmware accepted, as dotted numbers (`[11, 0]`).
    pub amt_min: Option<FirmwareVersion>,
    /// Longest off → on round trip, in seconds.
    pub power_on_secs: u32,
    /// Longest wait for console output after power-on, in seconds.
    pub sol_secs: u32,
    /// Longest wait from a one-shot PXE boot to the board's boot script being fetched from the
    /// netboot server, in seconds.
    pub pxe_secs: u32,
    /// Longest wait for the burn-in's last result once `verify` has seen the board fetch its
    /// boot script, in seconds.
    pub burnin_secs: u32,
    /// The floors below which a burn-in component that found no error is DEGRADED: stress-ng's
    /// bogo operations per second over all CPUs, stressapptest's MB/s, fio's MiB/s per disk.
    pub cpu_bogo_ops_min: Option<u32>,
    pub memory_mb_s_min: Option<u32>,
    pub disk_mib_s_min: Option<u32>,
}

impl Default for Acceptance {
    fn default() -> Self {
        Self {
            amt_min: None,
            power_on_secs: 60,
            sol_secs: 120,
            pxe_secs: 180,
            burnin_secs: 1800,
            cpu_bogo_ops_min: None,
            memory_mb_s_min: None,
            disk_mib_s_min: None,
        }
    }
}

/// A firmware version of dotted numbers (`12.0.67`), compared number by number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FirmwareVersion(pub Vec<u32>);

impl std::str::FromStr for FirmwareVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Result<Vec<u32>, _> = s.trim().split('.').map(str::parse).collect();
        match parts {
            Ok(p) if !p.is_empty() && p.len() <= 4 => Ok(Self(p)),
            _ => Err(format!(
                "{s:?} is not a firmware version (dotted numbers such as 11.8.50)"
            )),
        }
    }
}

impl std::fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

impl FirmwareVersion {
    /// Whether `self` is at least `min`, comparing only as many numbers as `min` gives
    /// (`12.0.67` is at least `12.0`).
    pub fn at_least(&self, min: &FirmwareVersion) -> bool {
        let n = min.0.len();
        let mine: Vec<u32> = (0..n)
            .map(|i| self.0.get(i).copied().unwrap_or(0))
            .collect();
        mine >= min.0
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    description: String,
    #[serde(rename = "match")]
    rules: Rules,
    provision: Provision,
    acceptance: Option<AcceptanceFile>,
}

/// One hardware profile.
#[derive(Debug, Clone)]
pub struct HardwareProfile {
    pub name: String,
    pub description: String,
    pub storage: Storage,
    pub dom0_memory_mib: u32,
    /// The size of `vg00/root` on installed storage; `None`: the plan's default.
    pub root_gib: Option<u32>,
    pub role: Role,
    pub netboot: String,
    pub acceptance: Acceptance,
    rules: Rules,
}

/// The outcome of matching a board against the profiles.
#[derive(Debug, Clone)]
pub enum Match {
    Profile(Box<HardwareProfile>),
    /// No single profile matched; why.
    None(String),
}

const GIB: u64 = 1 << 30;
/// The largest root volume a profile may ask for: a Dom0 root is a few GiB.
const MAX_ROOT_GIB: u32 = 1024;

impl HardwareProfile {
    /// Parses one profile; `name` is the file stem, `path` is for messages.
    pub fn parse(name: &str, path: &str, text: &str) -> Result<HardwareProfile, Error> {
        let bad = |why: String| Error::Profile {
            path: path.to_string(),
            why,
        };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let r = &file.rules;
        let p = &file.provision;
        match (p.storage, r.disks, r.disk_kind) {
            (Storage::Raid10, Some(n), _) if n < 4 || n % 2 == 1 => {
                return Err(bad(format!(
                    "raid10 needs an even number of disks, at least 4, not {n}"
                )));
            }
            (Storage::Raid10, None, _) => return Err(bad("raid10 needs a disks rule".into())),
            (Storage::SsdRaid0, _, kind) if kind != DiskKind::Ssd => {
                return Err(bad("ssd-raid0 needs disk_kind = \"ssd\"".into()));
            }
            (Storage::SsdRaid0, Some(n), _) if n < 2 => {
                return Err(bad(format!("ssd-raid0 needs at least 2 disks, not {n}")));
            }
            _ => {}
        }
        if p.dom0_memory_mib == 0 {
            return Err(bad("dom0_memory_mib must be set".into()));
        }
        match (p.storage, p.root_gib) {
            (Storage::Diskless, Some(_)) => {
                return Err(bad("root_gib needs installed storage, not diskless".into()));
            }
            (_, Some(g)) if !(1..=MAX_ROOT_GIB).contains(&g) => {
                return Err(bad(format!(
                    "root_gib must be 1 to {MAX_ROOT_GIB}, not {g}"
                )));
            }
            _ => {}
        }
        let role = Role::new(&p.role).map_err(|e| bad(e.to_string()))?;
        let acceptance = match &file.acceptance {
            None => Acceptance::default(),
            Some(a) => {
                let defaults = Acceptance::default();
                let within = |v: Option<u32>, default: u32, key: &str, max: u32| match v {
                    Some(0) => Err(bad(format!("{key} must be at least 1"))),
                    Some(v) if v > max => Err(bad(format!("{key} must be at most {max}"))),
                    Some(v) => Ok(v),
                    None => Ok(default),
                };
                let secs = |v: Option<u32>, default: u32, key: &str| within(v, default, key, 3600);
                let floor = |v: Option<u32>, key: &str| match v {
                    Some(0) => Err(bad(format!(
                        "{key} must be at least 1 (leave it out for no floor)"
                    ))),
                    v => Ok(v),
                };
                Acceptance {
                    amt_min: a
                        .amt_min
                        .as_deref()
                        .map(str::parse)
                        .transpose()
                        .map_err(|e: String| bad(format!("amt_min: {e}")))?,
                    power_on_secs: secs(a.power_on_secs, defaults.power_on_secs, "power_on_secs")?,
                    sol_secs: secs(a.sol_secs, defaults.sol_secs, "sol_secs")?,
                    pxe_secs: secs(a.pxe_secs, defaults.pxe_secs, "pxe_secs")?,
                    burnin_secs: within(
                        a.burnin_secs,
                        defaults.burnin_secs,
                        "burnin_secs",
                        7 * 24 * 3600,
                    )?,
                    cpu_bogo_ops_min: floor(a.cpu_bogo_ops_min, "cpu_bogo_ops_min")?,
                    memory_mb_s_min: floor(a.memory_mb_s_min, "memory_mb_s_min")?,
                    disk_mib_s_min: floor(a.disk_mib_s_min, "disk_mib_s_min")?,
                }
            }
        };
        Ok(HardwareProfile {
            name: name.to_string(),
            description: file.description,
            storage: p.storage,
            dom0_memory_mib: p.dom0_memory_mib,
            root_gib: p.root_gib,
            role,
            netboot: p
                .netboot
                .clone()
                .unwrap_or_else(|| format!("dom0-{}", p.storage.as_str())),
            acceptance,
            rules: file.rules,
        })
    }

    /// `None` when the board matches; else the first rule that fails.
    pub fn mismatch(&self, b: &Hardware) -> Option<String> {
        let r = &self.rules;
        let (board_maker, board_model) = (&b.board.manufacturer, &b.board.model);
        let contains = |have: &str, want: &str| have.to_lowercase().contains(&want.to_lowercase());
        if let Some(m) = r.board_maker.as_ref().filter(|m| !contains(board_maker, m)) {
            return Some(format!("board maker {board_maker:?} is not {m:?}"));
        }
        if let Some(m) = r.board_model.as_ref().filter(|m| !contains(board_model, m)) {
            return Some(format!("board model {board_model:?} is not {m:?}"));
        }
        let gib = b.memory_bytes.saturating_add(GIB / 2) / GIB;
        if let Some(want) = r.memory_gib.filter(|w| *w != gib) {
            return Some(format!("{gib} GiB of memory, not {want}"));
        }
        if let Some(want) = r.disks.filter(|w| *w != b.disks.len()) {
            return Some(format!("{} disks, not {want}", b.disks.len()));
        }
        let wrong_kind = match r.disk_kind {
            DiskKind::Any => None,
            DiskKind::Hdd => b.disks.iter().any(|d| d.ssd).then_some("an SSD"),
            DiskKind::Ssd => b.disks.iter().any(|d| !d.ssd).then_some("an HDD"),
        };
        if let Some(k) = wrong_kind {
            return Some(format!("has {k}"));
        }
        let cpu = r.cpu_model.as_ref();
        if let Some(want) =
            cpu.filter(|w| b.cpus.is_empty() || b.cpus.iter().any(|c| !contains(&c.model, w)))
        {
            let have: Vec<&str> = b.cpus.iter().map(|c| c.model.as_str()).collect();
            return Some(format!("processor {:?} is not {want:?}", have.join(", ")));
        }
        None
    }
}

/// Loads every `*.toml` in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<HardwareProfile>, Error> {
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut profiles = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        profiles.push(HardwareProfile::parse(&name, &shown, &text)?);
    }
    if profiles.is_empty() {
        return Err(Error::Profile {
            path: dir.display().to_string(),
            why: "no *.toml hardware profiles in this directory".into(),
        });
    }
    Ok(profiles)
}

/// Matches a board against the profiles.
pub fn match_board(profiles: &[HardwareProfile], board: &BoardFacts) -> Match {
    let (hits, misses): (Vec<_>, Vec<_>) = profiles
        .iter()
        .map(|p| (p, p.mismatch(&board.hardware)))
        .partition(|(_, why)| why.is_none());
    match hits.as_slice() {
        [(p, _)] => Match::Profile(Box::new((*p).clone())),
        [] => Match::None(format!(
            "no hardware profile matches ({})",
            misses
                .iter()
                .map(|(p, why)| format!("{}: {}", p.name, why.as_deref().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        many => Match::None(format!(
            "several hardware profiles match ({}); make their rules exclusive",
            many.iter()
                .map(|(p, _)| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAID10: &str = "[match]\nmemory_gib = 8\ndisks = 4\n[provision]\nstorage = \"raid10\"\n\
                          dom0_memory_mib = 512\nrole = \"storage\"\n";

    #[test]
    fn root_volume_size_is_optional_bounded_and_only_for_installed_storage() {
        let p = HardwareProfile::parse("a", "a.toml", RAID10).unwrap();
        assert_eq!(p.root_gib, None);
        let p = HardwareProfile::parse("a", "a.toml", &format!("{RAID10}root_gib = 8\n")).unwrap();
        assert_eq!(p.root_gib, Some(8));
        for bad in ["root_gib = 0\n", "root_gib = 5000\n"] {
            let e = HardwareProfile::parse("a", "a.toml", &format!("{RAID10}{bad}")).unwrap_err();
            assert!(e.to_string().contains("root_gib must be 1 to 1024"), "{e}");
        }
        let diskless = "[match]\ndisks = 0\n[provision]\nstorage = \"diskless\"\n\
                        dom0_memory_mib = 512\nrole = \"compute\"\nroot_gib = 4\n";
        let e = HardwareProfile::parse("d", "d.toml", diskless).unwrap_err();
        assert!(
            e.to_string().contains("root_gib needs installed storage"),
            "{e}"
        );
    }

    #[test]
    fn acceptance_limits_default_parse_and_compare_firmware_by_number() {
        let p = HardwareProfile::parse("a", "a.toml", RAID10).unwrap();
        assert_eq!(p.acceptance, Acceptance::default());
        let text = format!(
            "{RAID10}[acceptance]\namt_min = \"11.8\"\npower_on_secs = 30\nburnin_secs = 7200\ndisk_mib_s_min = 80\n"
        );
        let a = HardwareProfile::parse("a", "a.toml", &text)
            .unwrap()
            .acceptance;
        assert_eq!(a.power_on_secs, 30);
        assert_eq!(a.sol_secs, 120);
        assert_eq!(a.pxe_secs, 180);
        assert_eq!(a.burnin_secs, 7200, "burn-in may take longer than an hour");
        assert_eq!(a.disk_mib_s_min, Some(80));
        assert_eq!(a.cpu_bogo_ops_min, None);
        let min = a.amt_min.unwrap();
        let v = |s: &str| s.parse::<FirmwareVersion>().unwrap();
        assert!(v("12.0.67").at_least(&min));
        assert!(v("11.8.50").at_least(&min));
        assert!(!v("11.7.99").at_least(&min));
        assert!(!v("9.1.41").at_least(&min), "9 < 11 by number, not by text");
        for bad in [
            "amt_min = \"eleven\"",
            "power_on_secs = 0",
            "sol_secs = 9999",
            "pxe_secs = 0",
            "burnin_secs = 0",
            "cpu_bogo_ops_min = 0",
            "memory_mb_s_min = -1",
        ] {
            let text = format!("{RAID10}[acceptance]\n{bad}\n");
            assert!(
                HardwareProfile::parse("a", "a.toml", &text).is_err(),
                "{bad}"
            );
        }
    }
}
