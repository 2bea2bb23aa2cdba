//! The AMT simulator on a [`Block`], two ways: in the test's own process ([`start`], for the
//! client crates' tests, which inspect boards directly) and as a `metal sim` child process
//! ([`SimProcess`], for the binary's end-to-end tests, which read the simulator's log).
//!
//! The caller keeps the `Block` alive at least as long as the simulator.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use metal_sim::{Sim, SimConfig};

use crate::loopback::Block;
use crate::process::Running;

/// The busy window of a power change in both kinds of simulator: short, so tests of power
/// changes are quick, but long enough to be seen.
pub const TRANSITION: Duration = Duration::from_millis(100);

/// Starts `boards` simulated boards from `block.first()` that accept user `admin` with
/// `password`, with a [`TRANSITION`] busy window; `tweak` changes anything else first.
pub async fn start(
    block: &Block,
    boards: usize,
    password: &str,
    tweak: impl FnOnce(&mut SimConfig),
) -> Sim {
    let mut config = SimConfig {
        boards,
        first_ip: block.first(),
        password: password.into(),
        transition: TRANSITION,
        ..SimConfig::default()
    };
    tweak(&mut config);
    Sim::start(config).await.expect("simulator starts")
}

/// A running `metal sim`, stopped (by its PID) when dropped.
#[derive(Debug)]
pub struct SimProcess {
    process: Running,
}

/// How to start a [`SimProcess`]; from [`SimProcess::builder`].
#[derive(Debug)]
pub struct SimBuilder {
    cmd: Command,
}

impl SimProcess {
    /// `BIN sim --password PASSWORD --transition-ms 100 --first-ip FIRST_IP`, one board unless
    /// [`SimBuilder::boards`] says otherwise. `bin` is the `metal` binary
    /// (`env!("CARGO_BIN_EXE_metal")` in the cli crate's tests).
    pub fn builder(bin: impl AsRef<OsStr>, password: &str, first_ip: Ipv4Addr) -> SimBuilder {
        let mut cmd = Command::new(bin);
        cmd.args(["sim", "--password", password, "--transition-ms"])
            .arg(TRANSITION.as_millis().to_string())
            .args(["--first-ip", &first_ip.to_string()]);
        SimBuilder { cmd }
    }

    /// Waits (up to 20 s) for a log line matching `pred` and returns it.
    pub fn wait_for(&self, pred: impl Fn(&str) -> bool) -> String {
        self.process.wait_for(pred)
    }

    /// Everything the simulator printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.process.lines()
    }

    /// The log lines about one board.
    pub fn lines_about(&self, ip: Ipv4Addr) -> Vec<String> {
        let prefix = format!("{ip} ");
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }
}

impl SimBuilder {
    /// How many boards, on consecutive addresses from the first.
    pub fn boards(mut self, boards: usize) -> SimBuilder {
        self.cmd.args(["--boards", &boards.to_string()]);
        self
    }

    /// More `metal sim` options (`--quiet`, `--tls`, `--profile P`, `--fault ADDRESS=KIND` ...).
    pub fn args<I, S>(mut self, args: I) -> SimBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Starts it and waits for its `ready` line (every board bound).
    pub fn start(self) -> SimProcess {
        let sim = SimProcess {
            process: Running::spawn(self.cmd, "metal sim"),
        };
        sim.wait_for(|l| l.starts_with("ready "));
        sim
    }
}
