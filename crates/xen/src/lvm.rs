//! The volume group a Dom0 keeps its guests in (`vg00`), through the `lvm` command.
//!
//! A Dom0 runs no udev (metal-init starts what `xl` needs and no more), so every call passes
//! lvm.conf(5) settings that make LVM create its device nodes itself instead of waiting for
//! udev: `activation { udev_sync = 0 udev_rules = 0 }` and `devices {
//! obtain_device_list_from_udev = 0 }` (../shared/docs/xen-in-qemu.md). Names are passed as
//! separate arguments, never through a shell; a guest's LV name is its [`GuestName`], a DNS
//! label, so it cannot start with `-`.

use std::path::PathBuf;
use std::time::Duration;

use crate::command::{self, CommandError};
use crate::domu::GuestName;

/// lvm.conf(5) settings for a host without udev.
pub const NO_UDEV: &str =
    "activation { udev_sync = 0 udev_rules = 0 } devices { obtain_device_list_from_udev = 0 }";

/// How long one `lvm` call may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum LvmError {
    #[error("running lvm {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("lvm {command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("lvm {command} did not finish within {secs} s and was killed")]
    Timeout { command: String, secs: u64 },
    #[error("lvm {command} answered {answer:?}, not a number of bytes")]
    Parse { command: String, answer: String },
    #[error("volume group {vg} has {free} bytes free, {need} are needed")]
    NoSpace { vg: String, free: u64, need: u64 },
}

/// One volume group.
#[derive(Debug, Clone)]
pub struct VolumeGroup {
    name: String,
    config: String,
}

impl VolumeGroup {
    /// `vg00` on a Dom0.
    pub fn dom0() -> Self {
        Self::new("vg00", "")
    }

    /// `extra` is more lvm.conf text (a test confines LVM to its own loop devices with a
    /// `devices { filter = [...] }`).
    pub fn new(name: &str, extra: &str) -> Self {
        Self {
            name: name.to_string(),
            config: format!("{NO_UDEV} {extra}"),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `pvcreate` every device and `vgcreate` the group over them.
    pub fn create(&self, devices: &[PathBuf]) -> Result<(), LvmError> {
        let devs: Vec<String> = devices.iter().map(|d| d.display().to_string()).collect();
        let mut args = vec!["pvcreate", "-y", "-ff"];
        args.extend(devs.iter().map(String::as_str));
        self.run(&args)?;
        let mut args = vec!["vgcreate", "-y", self.name.as_str()];
        args.extend(devs.iter().map(String::as_str));
        self.run(&args).map(drop)
    }

    /// Remove the group and everything in it.
    pub fn remove(&self) -> Result<(), LvmError> {
        self.run(&["vgremove", "-f", "-y", &self.name]).map(drop)
    }

    /// Free bytes in the group.
    pub fn free(&self) -> Result<u64, LvmError> {
        self.bytes(&[
            "vgs",
            "--noheadings",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "vg_free",
            &self.name,
        ])
    }

    /// A new volume of `bytes` (rounded up to the group's extent), its first 4 KiB zeroed and old
    /// signatures wiped.
    pub fn create_volume(&self, name: &GuestName, bytes: u64) -> Result<PathBuf, LvmError> {
        let free = self.free()?;
        if bytes > free {
            return Err(LvmError::NoSpace {
                vg: self.name.clone(),
                free,
                need: bytes,
            });
        }
        let size = format!("{bytes}b");
        self.run(&[
            "lvcreate",
            "-y",
            "--wipesignatures",
            "y",
            "--zero",
            "y",
            "-L",
            &size,
            "-n",
            name.as_str(),
            &self.name,
        ])?;
        Ok(self.path(name.as_str()))
    }

    /// Remove a volume (or a snapshot).
    pub fn remove_volume(&self, name: &str) -> Result<(), LvmError> {
        self.run(&["lvremove", "-f", "-y", &format!("{}/{name}", self.name)])
            .map(drop)
    }

    /// Whether the group holds a volume of this name.
    pub fn has_volume(&self, name: &str) -> Result<bool, LvmError> {
        let out = self.run(&["lvs", "--noheadings", "-o", "lv_name", &self.name])?;
        Ok(out.lines().any(|l| l.trim() == name))
    }

    /// A volume's size in bytes.
    pub fn volume_size(&self, name: &str) -> Result<u64, LvmError> {
        self.bytes(&[
            "lvs",
            "--noheadings",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "lv_size",
            &format!("{}/{name}", self.name),
        ])
    }

    /// A snapshot `snapshot` of `origin` whose exception store holds `cow_bytes`: every origin
    /// chunk written after this call is copied there first (and listed in its table).
    pub fn snapshot(
        &self,
        origin: &str,
        snapshot: &str,
        cow_bytes: u64,
    ) -> Result<PathBuf, LvmError> {
        let size = format!("{cow_bytes}b");
        self.run(&[
            "lvcreate",
            "-y",
            "-s",
            "-L",
            &size,
            "-n",
            snapshot,
            &format!("{}/{origin}", self.name),
        ])?;
        Ok(self.path(snapshot))
    }

    /// `/dev/VG/LV`.
    pub fn path(&self, volume: &str) -> PathBuf {
        PathBuf::from(format!("/dev/{}/{volume}", self.name))
    }

    /// The device of a snapshot's exception store: device-mapper names join VG and LV with `-`
    /// and double every `-` inside them (dmsetup(8), "lvm names").
    pub fn cow_path(&self, snapshot: &str) -> PathBuf {
        let esc = |s: &str| s.replace('-', "--");
        PathBuf::from(format!(
            "/dev/mapper/{}-{}-cow",
            esc(&self.name),
            esc(snapshot)
        ))
    }

    fn bytes(&self, args: &[&str]) -> Result<u64, LvmError> {
        let out = self.run(args)?;
        let answer = out.trim();
        answer.parse().map_err(|_| LvmError::Parse {
            command: args[0].to_string(),
            answer: answer.to_string(),
        })
    }

    fn run(&self, args: &[&str]) -> Result<String, LvmError> {
        let mut all = vec![args[0], "--config", self.config.as_str()];
        all.extend_from_slice(&args[1..]);
        command::run("lvm", &all, &[], TIMEOUT).map_err(|e| match e {
            CommandError::Spawn { source, .. } => LvmError::Spawn {
                command: args.join(" "),
                source,
            },
            CommandError::Failed { stderr, .. } => LvmError::Failed {
                command: args.join(" "),
                stderr,
            },
            CommandError::Timeout { secs, .. } => LvmError::Timeout {
                command: args.join(" "),
                secs,
            },
        })
    }
}
