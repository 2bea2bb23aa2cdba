//! Child processes a test reads while they run: [`Running`] collects every line the child
//! prints on stdout (stderr is left to the test's own, so its messages show in a failure) and
//! kills the child, by its own PID, when dropped. [`wait_until`] polls any condition with a
//! deadline.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long [`Running::wait_for`] waits for a line.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// A child process whose stdout lines are collected as it prints them.
#[derive(Debug)]
pub struct Running {
    child: Child,
    what: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Spawns `cmd` with stdout piped into the collected lines; `what` names it in failures.
    pub fn spawn(mut cmd: Command, what: &str) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Running {
            child,
            what: what.to_string(),
            lines,
        }
    }

    /// Waits (up to [`LINE_TIMEOUT`]) for a line matching `pred` and returns it.
    pub fn wait_for(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} never printed the expected line; its output:\n{}",
            self.what,
            self.lines().join("\n")
        );
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
