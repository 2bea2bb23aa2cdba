//! The `metal` binary in an isolated environment. A [`Metal`] owns a temporary directory and
//! runs every command with:
//!
//! - `METAL_DB` = `sqlite://DIR/inventory.db` (created by the first command that needs it), the
//!   test's own database ([`Metal::db`]), or no inventory at all with [`Metal::no_inventory`];
//! - `METAL_CONFIG` = `DIR/config.toml`, which does not exist unless the test writes it
//!   ([`Metal::config_file`]);
//! - `METAL_SECRETS` = `DIR/secrets.toml`, likewise ([`Metal::secrets_file`]);
//! - `METAL_PROFILES` = the repository's `hardware-profiles/` ([`profiles_dir`]), or the
//!   test's own ([`Metal::profiles`]);
//! - `METAL_AMT_PASSWORD` only when the test gives one ([`Metal::password`]);
//! - `XDG_CONFIG_HOME` and `XDG_DATA_HOME` inside `DIR`, so nothing of the user's own
//!   configuration, known-hosts file or inventory is read or written;
//! - no other `METAL_*` variable of the environment the tests were started in.
//!
//! With [`Metal::netns`], every command runs in a network namespace (`ip netns exec`).
//!
//! Commands return `(exit code, stdout, stderr)` ([`Metal::run`]) or the exit code and the
//! parsed `--json` document ([`Metal::json`]); [`MetalCommand`] adds per-command environment,
//! a background child ([`MetalCommand::spawn`], [`MetalCommand::spawn_lines`]) or the plain
//! [`Command`].

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::process::Running;

/// The repository's `hardware-profiles/` directory.
pub fn profiles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hardware-profiles")
}

/// An isolated environment for the `metal` binary; its directory is removed when dropped.
#[derive(Debug)]
pub struct Metal {
    bin: OsString,
    dir: TempDir,
    password: Option<String>,
    inventory: bool,
    /// An inventory URL of the test's (a PostgreSQL database) instead of the directory's.
    db: Option<String>,
    profiles: PathBuf,
    netns: Option<String>,
}

impl Metal {
    /// A fresh environment for `bin` (`env!("CARGO_BIN_EXE_metal")` in the cli crate's tests),
    /// with an empty inventory and no AMT password.
    pub fn new(bin: impl AsRef<OsStr>) -> Metal {
        Metal {
            bin: bin.as_ref().to_owned(),
            dir: tempfile::tempdir().expect("temporary directory"),
            password: None,
            inventory: true,
            db: None,
            profiles: profiles_dir(),
            netns: None,
        }
    }

    /// The inventory at `url` (`METAL_DB`) instead of the directory's SQLite file.
    pub fn db(mut self, url: &str) -> Metal {
        self.db = Some(url.to_string());
        self
    }

    /// Hardware profiles from `dir` instead of the repository's.
    pub fn profiles(mut self, dir: impl Into<PathBuf>) -> Metal {
        self.profiles = dir.into();
        self
    }

    /// Every command runs in network namespace `ns`.
    pub fn netns(mut self, ns: &str) -> Metal {
        self.netns = Some(ns.to_string());
        self
    }

    /// Every command gets `password` in `METAL_AMT_PASSWORD`.
    pub fn password(mut self, password: &str) -> Metal {
        self.password = Some(password.to_string());
        self
    }

    /// No `METAL_DB`, and the default inventory file (under the directory's `XDG_DATA_HOME`)
    /// does not exist: commands on addresses run without an inventory, as on a machine that
    /// never had one.
    pub fn no_inventory(mut self) -> Metal {
        self.inventory = false;
        self
    }

    /// The environment's directory (inventory, config and secrets files live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The inventory's URL, for opening the store from the test.
    pub fn db_url(&self) -> String {
        match &self.db {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.dir().join("inventory.db").display()),
        }
    }

    /// Where `METAL_CONFIG` points; absent until the test writes it.
    pub fn config_file(&self) -> PathBuf {
        self.dir().join("config.toml")
    }

    /// Where `METAL_SECRETS` points; absent until the test writes it.
    pub fn secrets_file(&self) -> PathBuf {
        self.dir().join("secrets.toml")
    }

    /// `metal ARGS` in this environment, to adjust before running.
    pub fn command<I, S>(&self, args: I) -> MetalCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("METAL_") {
                cmd.env_remove(name);
            }
        }
        if self.inventory {
            cmd.env("METAL_DB", self.db_url());
        }
        cmd.env("METAL_CONFIG", self.config_file())
            .env("METAL_SECRETS", self.secrets_file())
            .env("METAL_PROFILES", &self.profiles)
            .env("XDG_CONFIG_HOME", self.dir().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir().join("xdg-data"));
        if let Some(password) = &self.password {
            cmd.env("METAL_AMT_PASSWORD", password);
        }
        cmd.args(args);
        MetalCommand { cmd }
    }

    /// Runs `metal ARGS`: (exit code, stdout, stderr); the code is -1 after a signal.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.command(args).run()
    }

    /// Runs `metal ARGS --json`: the exit code and the document on stdout.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        self.command(args).json()
    }

    /// Starts `metal console HOST --expect PATTERN --timeout SECS` in the background (stdout
    /// and stderr piped) and gives it 1.5 s to open its SOL session, so that what the test does
    /// next is seen.
    pub fn expect_in_background(&self, host: &str, pattern: &str, timeout_secs: u32) -> Child {
        let child = self
            .command(["console", host, "--expect", pattern, "--timeout"])
            .arg(timeout_secs.to_string())
            .spawn();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        child
    }

    /// The machines of `metal ls --json`, which must succeed.
    pub fn machines(&self) -> Vec<Value> {
        let (code, doc) = self.json(&["ls"]);
        assert_eq!(code, 0, "{doc}");
        doc["machines"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no machines in {doc}"))
    }
}

/// One `metal` command in a [`Metal`] environment.
#[derive(Debug)]
pub struct MetalCommand {
    cmd: Command,
}

impl MetalCommand {
    /// Adds one more argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> MetalCommand {
        self.cmd.arg(arg);
        self
    }

    /// Sets one more environment variable for this command only.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> MetalCommand {
        self.cmd.env(key, value);
        self
    }

    /// Runs it to the end: (exit code, stdout, stderr); the code is -1 after a signal.
    pub fn run(mut self) -> (i32, String, String) {
        let out = self.cmd.output().expect("run metal");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs it to the end with stdout and stderr discarded: (exit code, peak resident memory in
    /// KiB), from `wait4(2)`'s `ru_maxrss` of this one child.
    pub fn peak_rss(mut self) -> (i32, u64) {
        use std::os::unix::process::ExitStatusExt;
        let child = self
            .cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start metal");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        let mut status = 0;
        // SAFETY: `wait4` writes an int and an rusage into the two places given, which are
        // valid for the call; the child is ours and is reaped here (its Child is forgotten).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        std::mem::forget(child);
        assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
        let code = std::process::ExitStatus::from_raw(status)
            .code()
            .unwrap_or(-1);
        (code, u64::try_from(usage.ru_maxrss).unwrap_or(0))
    }

    /// Runs it with `--json` added: the exit code and the document on stdout (a failure to
    /// parse it panics with stdout and stderr).
    pub fn json(mut self) -> (i32, Value) {
        self.cmd.arg("--json");
        let (code, stdout, stderr) = self.run();
        let doc = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?} stderr {stderr:?}"));
        (code, doc)
    }

    /// Starts it in the background with stdout and stderr piped, for a test that reads them
    /// when it ends (`wait_with_output`) or stops it with a signal of its choice.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start metal")
    }

    /// Starts it in the background with its stdout lines collected; killed when dropped.
    pub fn spawn_lines(self) -> Running {
        Running::spawn(self.cmd, "metal")
    }

    /// The command itself, for what the other methods do not cover.
    pub fn into_command(self) -> Command {
        self.cmd
    }
}
