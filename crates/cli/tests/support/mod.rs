//! Shared by the end-to-end test binaries: `metal sim` as a child process whose stdout lines
//! are collected (it is stopped by PID when dropped), and polling helpers.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_metal");

/// A running `metal sim`.
pub struct SimProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl SimProcess {
    /// Starts `metal sim --password PASSWORD --transition-ms 100 ARGS` and waits for `ready`.
    pub fn start(password: &str, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["sim", "--password", password, "--transition-ms", "100"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start metal sim");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let sim = Self { child, lines };
        sim.wait_for(|l| l.starts_with("ready "));
        sim
    }

    /// Waits (up to 20 s) for a line matching `pred` and returns it.
    pub fn wait_for(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "simulator never printed the expected line; log:\n{}",
            self.lines().join("\n")
        );
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The log lines about one board.
    pub fn lines_about(&self, ip: &str) -> Vec<String> {
        let prefix = format!("{ip} ");
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `metal` command on the inventory in `dir` (SQLite file, secrets file, the shipped hardware
/// profiles, no config file) with the AMT password in the environment.
pub fn metal_on_inventory(dir: &std::path::Path, password: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env(
        "METAL_DB",
        format!("sqlite://{}", dir.join("inventory.db").display()),
    )
    .env("METAL_CONFIG", "/nonexistent/metal-config.toml")
    .env("METAL_SECRETS", dir.join("secrets.toml"))
    .env(
        "METAL_PROFILES",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../hardware-profiles"),
    )
    .env("METAL_AMT_PASSWORD", password);
    cmd
}

/// Polls `ok` every 50 ms until it holds; panics naming `what` after `within`.
pub fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting until {what}");
}
