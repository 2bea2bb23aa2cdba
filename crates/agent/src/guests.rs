//! The DomUs of this Dom0: their definitions (kept as JSON under the state folder), their
//! volumes in `vg00`, what is written into a new guest's root file system, and `xl`.
//!
//! Every call blocks (LVM, `xl`, `e2fsck`); the server runs them off its event loop. Calls that
//! change a guest take one lock, so two requests never run `lvcreate` and `xl create` for one
//! name at once.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use metal_xen::api::{Define, GuestStatus, Network};
use metal_xen::command::{self, CommandError};
use metal_xen::domu::{self, DomU, DomUError, GuestName, PvBoot};
use metal_xen::load::{self, LoadError};
use metal_xen::lvm::{LvmError, VolumeGroup};

/// How long `xl create`, `xl shutdown -w` and file-system tools may take under emulation.
const XL: Duration = Duration::from_secs(180);
const FS: Duration = Duration::from_secs(300);
/// A guest that ignores `xl shutdown` this long is destroyed.
const SHUTDOWN: Duration = Duration::from_secs(90);
/// The most of a console log one request returns.
pub const MAX_CONSOLE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("{0}")]
    Invalid(#[from] DomUError),
    #[error("guest {0} is not defined on this Dom0")]
    Unknown(String),
    #[error("guest {0} is already defined on this Dom0")]
    Exists(String),
    #[error("guest {name} is {state}: {why}")]
    State {
        name: String,
        state: String,
        why: &'static str,
    },
    #[error("{0}")]
    Lvm(#[from] LvmError),
    #[error("{0}")]
    Command(#[from] CommandError),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl GuestError {
    /// The HTTP status a refusal is answered with.
    pub fn status(&self) -> u16 {
        match self {
            GuestError::Invalid(_) => 400,
            GuestError::Unknown(_) => 404,
            GuestError::Exists(_) | GuestError::State { .. } => 409,
            GuestError::Lvm(LvmError::NoSpace { .. }) => 507,
            _ => 500,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GuestError + '_ {
    move |source| GuestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where things are on this Dom0.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Definitions (`guests/NAME.json`) and `xl` files (`xl/NAME.cfg`).
    pub state: PathBuf,
    pub console_dir: PathBuf,
    pub bridge: String,
    pub boot: PvBoot,
}

pub struct Guests {
    pub layout: Layout,
    pub vg: VolumeGroup,
    lock: Mutex<()>,
}

/// The guest's snapshot while its volume is streamed to another Dom0.
pub fn move_snapshot(name: &GuestName) -> String {
    format!("{name}-move")
}

impl Guests {
    pub fn new(layout: Layout, vg: VolumeGroup) -> Result<Guests, GuestError> {
        for d in ["guests", "xl"] {
            let p = layout.state.join(d);
            std::fs::create_dir_all(&p).map_err(io(&p))?;
        }
        Ok(Guests {
            layout,
            vg,
            lock: Mutex::new(()),
        })
    }

    /// Serialises calls that change guests.
    pub fn exclusive(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn definition_path(&self, name: &GuestName) -> PathBuf {
        self.layout
            .state
            .join("guests")
            .join(format!("{name}.json"))
    }

    pub fn definition(&self, name: &str) -> Result<(GuestName, Define), GuestError> {
        let name = GuestName::new(name)?;
        let path = self.definition_path(&name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(GuestError::Unknown(name.to_string()));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let def: Define = serde_json::from_str(&text)
            .map_err(|e| GuestError::Other(format!("{}: {e}", path.display())))?;
        Ok((name, def))
    }

    fn domu(name: &GuestName, d: &Define) -> Result<DomU, GuestError> {
        Ok(DomU::new(
            name.clone(),
            d.address,
            d.memory_mib,
            d.vcpus,
            d.disk_gib,
        )?)
    }

    /// A new guest: its definition checked, its volume made (`disk_gib`), nothing started.
    pub fn define(&self, d: &Define) -> Result<GuestStatus, GuestError> {
        let _g = self.exclusive();
        let name = GuestName::new(&d.name)?;
        Self::domu(&name, d)?;
        if self.definition_path(&name).exists() || self.vg.has_volume(name.as_str())? {
            return Err(GuestError::Exists(name.to_string()));
        }
        self.vg.create_volume(&name, u64::from(d.disk_gib) << 30)?;
        let path = self.definition_path(&name);
        let text = serde_json::to_string_pretty(d).expect("a definition serialises");
        std::fs::write(&path, text).map_err(io(&path))?;
        self.status(&name, d)
    }

    /// Every defined guest with what `xl` says of it.
    pub fn list(&self) -> Result<Vec<GuestStatus>, GuestError> {
        let dir = self.layout.state.join("guests");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        let domains = domains()?;
        let mut out = Vec::new();
        for n in names {
            let (name, d) = self.definition(&n)?;
            out.push(status_of(&name, &d, &domains));
        }
        Ok(out)
    }

    pub fn status(&self, name: &GuestName, d: &Define) -> Result<GuestStatus, GuestError> {
        Ok(status_of(name, d, &domains()?))
    }

    fn running(&self, name: &GuestName) -> Result<Option<String>, GuestError> {
        Ok(domains()?
            .into_iter()
            .find(|dom| dom.name == name.as_str())
            .map(|dom| xl_state(&dom.state)))
    }

    /// Refuses while `xl` runs the guest: its volume is its disk.
    pub fn require_stopped(&self, name: &GuestName, why: &'static str) -> Result<(), GuestError> {
        match self.running(name)? {
            Some(state) => Err(GuestError::State {
                name: name.to_string(),
                state,
                why,
            }),
            None => Ok(()),
        }
    }

    /// Writes who the guest is into its root file system (made from `metal image build
    /// domu`), after growing that file system to the whole volume: hostname, hosts, the
    /// systemd-networkd unit of its one interface, resolv.conf. The guest must be stopped.
    pub fn configure(&self, name: &str, net: &Network) -> Result<GuestStatus, GuestError> {
        let _g = self.exclusive();
        let (name, d) = self.definition(name)?;
        self.require_stopped(&name, "its file system cannot be changed while it runs")?;
        let net = self.with_dom0_defaults(net)?;
        let dev = self.vg.path(name.as_str());
        let dev_s = dev.display().to_string();
        // e2fsck(8): exit 1 means it corrected something, which is fine before a resize;
        // anything above is an error.
        match command::run("e2fsck", &["-f", "-p", &dev_s], &[], FS) {
            Ok(_) | Err(CommandError::Failed { code: Some(1), .. }) => {}
            Err(e) => return Err(e.into()),
        }
        command::run("resize2fs", &[&dev_s], &[], FS)?;
        let mnt = self.layout.state.join(format!("mnt-{name}"));
        std::fs::create_dir_all(&mnt).map_err(io(&mnt))?;
        let mnt_s = mnt.display().to_string();
        command::run(
            "mount",
            &["-t", "ext4", "-o", "nodev,nosuid,noexec", &dev_s, &mnt_s],
            &[],
            FS,
        )?;
        let written = write_identity(&mnt, &name, &d, &net);
        let unmounted = command::run("umount", &[&mnt_s], &[], FS);
        let _ = std::fs::remove_dir(&mnt);
        written?;
        unmounted?;
        self.status(&name, &d)
    }

    /// `net` with what it leaves out taken from this Dom0: its bridge's prefix, its default
    /// gateway, its name servers.
    fn with_dom0_defaults(&self, net: &Network) -> Result<Network, GuestError> {
        let prefix = match net.prefix {
            Some(p) => p,
            None => {
                let out = command::run(
                    "ip",
                    &["-4", "-o", "addr", "show", "dev", &self.layout.bridge],
                    &[],
                    XL,
                )?;
                out.split_whitespace()
                    .skip_while(|w| *w != "inet")
                    .nth(1)
                    .and_then(|cidr| cidr.split_once('/'))
                    .and_then(|(_, p)| p.parse().ok())
                    .ok_or_else(|| {
                        GuestError::Other(format!(
                            "{} has no IPv4 address to take the guest's prefix from",
                            self.layout.bridge
                        ))
                    })?
            }
        };
        if prefix == 0 || prefix > 32 {
            return Err(GuestError::Other(format!(
                "prefix /{prefix} is not an IPv4 prefix length"
            )));
        }
        let gateway = match net.gateway {
            Some(g) => Some(g),
            None => command::run("ip", &["-4", "route", "show", "default"], &[], XL)?
                .split_whitespace()
                .skip_while(|w| *w != "via")
                .nth(1)
                .and_then(|g| g.parse().ok()),
        };
        let dns = if net.dns.is_empty() {
            std::fs::read_to_string("/etc/resolv.conf")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("nameserver"))
                .filter_map(|a| a.trim().parse().ok())
                .take(3)
                .collect()
        } else {
            net.dns.clone()
        };
        Ok(Network {
            prefix: Some(prefix),
            gateway,
            dns,
            domain: net.domain.clone(),
        })
    }

    /// Starts the guest with `xl create` (its `xl` file written fresh from the definition).
    pub fn start(&self, name: &str) -> Result<GuestStatus, GuestError> {
        let _g = self.exclusive();
        let (name, d) = self.definition(name)?;
        if let Some(state) = self.running(&name)? {
            return Err(GuestError::State {
                name: name.to_string(),
                state,
                why: "it already runs",
            });
        }
        // Starting here again abandons a move that stopped between its passes: the snapshot
        // would only fill up.
        let snap = move_snapshot(&name);
        if self.vg.has_volume(&snap)? {
            self.vg.remove_volume(&snap)?;
        }
        let text = domu::xl_config(
            &Self::domu(&name, &d)?,
            &self.layout.boot,
            self.vg.name(),
            &self.layout.bridge,
        )?;
        let cfg = self.layout.state.join("xl").join(format!("{name}.cfg"));
        std::fs::write(&cfg, text).map_err(io(&cfg))?;
        command::run("xl", &["create", &cfg.display().to_string()], &[], XL)?;
        self.status(&name, &d)
    }

    /// `xl shutdown -w`, and `xl destroy` if the guest has not stopped within a while; returns
    /// once `xl` no longer lists it (a name stays listed 1–2 s after power-off).
    pub fn stop(&self, name: &str) -> Result<GuestStatus, GuestError> {
        let _g = self.exclusive();
        let (name, d) = self.definition(name)?;
        self.stop_domain(&name)?;
        self.status(&name, &d)
    }

    fn stop_domain(&self, name: &GuestName) -> Result<(), GuestError> {
        if self.running(name)?.is_none() {
            return Ok(());
        }
        if command::run("xl", &["shutdown", "-w", name.as_str()], &[], SHUTDOWN).is_err() {
            let _ = command::run("xl", &["destroy", name.as_str()], &[], XL);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.running(name)?.is_some() {
            if Instant::now() > deadline {
                return Err(GuestError::Other(format!(
                    "guest {name} is still listed by xl 30 s after it was stopped"
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// Stops the guest hard and removes its volume, any move snapshot and its definition.
    pub fn destroy(&self, name: &str) -> Result<GuestStatus, GuestError> {
        let _g = self.exclusive();
        let (name, d) = self.definition(name)?;
        if self.running(&name)?.is_some() {
            command::run("xl", &["destroy", name.as_str()], &[], XL)?;
            self.stop_domain(&name)?;
        }
        let snap = move_snapshot(&name);
        if self.vg.has_volume(&snap)? {
            self.vg.remove_volume(&snap)?;
        }
        if self.vg.has_volume(name.as_str())? {
            self.vg.remove_volume(name.as_str())?;
        }
        let path = self.definition_path(&name);
        std::fs::remove_file(&path).map_err(io(&path))?;
        let _ = std::fs::remove_file(self.layout.state.join("xl").join(format!("{name}.cfg")));
        let mut gone = status_of(&name, &d, &[]);
        gone.state = "destroyed".into();
        Ok(gone)
    }

    /// The last `bytes` of the guest's console log (xenconsoled's `guest-NAME.log`).
    pub fn console(&self, name: &str, bytes: u64) -> Result<String, GuestError> {
        let (name, _) = self.definition(name)?;
        let path = self.layout.console_dir.join(format!("guest-{name}.log"));
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        let len = f.seek(SeekFrom::End(0)).map_err(io(&path))?;
        let take = bytes.min(MAX_CONSOLE).min(len);
        f.seek(SeekFrom::Start(len - take)).map_err(io(&path))?;
        let mut buf = Vec::with_capacity(take as usize);
        f.take(take).read_to_end(&mut buf).map_err(io(&path))?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The guest's volume opened for the stream (`write` for a receiver).
    pub fn open_volume(&self, volume: &str, write: bool) -> Result<(File, u64), GuestError> {
        let path = self.vg.path(volume);
        let mut f = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(if write {
                0
            } else {
                rustix::fs::OFlags::DIRECT.bits() as i32
            })
            .open(&path)
            .map_err(io(&path))?;
        let size = f.seek(SeekFrom::End(0)).map_err(io(&path))?;
        f.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        Ok((f, size))
    }
}

fn domains() -> Result<Vec<load::Domain>, GuestError> {
    let text = command::run("xl", &["list"], &[], XL)?;
    Ok(load::parse_xl_list(&text)?)
}

/// `xl list`'s state letters as a word. A live domain is `running` whether it is on a CPU
/// (`r`), waiting for events (`b`) or waiting for a CPU (no letter); the others name
/// themselves.
fn xl_state(letters: &str) -> String {
    [
        ('p', "paused"),
        ('s', "shutdown"),
        ('c', "crashed"),
        ('d', "dying"),
    ]
    .iter()
    .find(|(c, _)| letters.contains(*c))
    .map_or("running", |(_, w)| w)
    .to_string()
}

fn status_of(name: &GuestName, d: &Define, domains: &[load::Domain]) -> GuestStatus {
    let dom = domains.iter().find(|dom| dom.name == name.as_str());
    GuestStatus {
        name: name.to_string(),
        domid: dom.map(|d| d.id),
        state: dom.map_or_else(|| "stopped".to_string(), |d| xl_state(&d.state)),
        memory_mib: d.memory_mib,
        vcpus: d.vcpus,
        disk_gib: d.disk_gib,
        address: d.address,
    }
}

/// The files that make the guest itself. Every value is typed (a [`GuestName`], addresses) or
/// checked here, so nothing can add a line or a section to them.
fn write_identity(
    root: &Path,
    name: &GuestName,
    d: &Define,
    net: &Network,
) -> Result<(), GuestError> {
    if let Some(domain) = &net.domain
        && !domain
            .split('.')
            .all(|l| GuestName::new(&l.to_ascii_lowercase()).is_ok())
    {
        return Err(GuestError::Other(format!(
            "search domain {domain:?} is not a DNS name"
        )));
    }
    let fqdn = match &net.domain {
        Some(domain) => format!("{name}.{domain} {name}"),
        None => name.to_string(),
    };
    let mut unit = format!(
        "# Written by metal-agent at create.\n[Match]\nType=ether\n\n[Network]\nAddress={}/{}\n",
        d.address,
        net.prefix.unwrap_or(32)
    );
    if let Some(gw) = net.gateway {
        unit.push_str(&format!("Gateway={gw}\n"));
    }
    for dns in &net.dns {
        unit.push_str(&format!("DNS={dns}\n"));
    }
    let mut resolv = String::new();
    if let Some(domain) = &net.domain {
        resolv.push_str(&format!("search {domain}\n"));
    }
    for dns in &net.dns {
        resolv.push_str(&format!("nameserver {dns}\n"));
    }
    let files = [
        ("etc/hostname", format!("{name}\n")),
        (
            "etc/hosts",
            format!("127.0.0.1 localhost\n{} {fqdn}\n", d.address),
        ),
        ("etc/systemd/network/10-metal.network", unit),
        ("etc/resolv.conf", resolv),
    ];
    for (rel, text) in files {
        // A guest root is ours (made by `metal image build domu`), but a link placed in it
        // must still not send a write outside it: no component may be a symbolic link (the
        // file itself, if one, is replaced).
        let mut at = root.to_path_buf();
        let parts: Vec<&str> = rel.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
            if link && i + 1 < parts.len() {
                return Err(GuestError::Other(format!(
                    "the guest image's /{} is a symbolic link: refusing to write /{rel} through it",
                    parts[..=i].join("/")
                )));
            }
            if link {
                std::fs::remove_file(&at).map_err(io(&at))?;
            } else if i + 1 < parts.len() && !at.exists() {
                std::fs::create_dir(&at).map_err(io(&at))?;
            }
        }
        std::fs::write(&at, text).map_err(io(&at))?;
    }
    Ok(())
}
