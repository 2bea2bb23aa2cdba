//! A real terminal for tests of what `metal` does on one: a tmux session running a command in
//! a pseudo-terminal, typed into and read back (tmux must be installed; `.ci/run` installs it).

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session running one command in a real pseudo-terminal; killed on drop.
///
/// Every session has its own tmux server (`tmux -L NAME`): with one shared server, killing the
/// last session stops the server while the next `new-session` may already be connecting to it,
/// and that client fails with "server exited unexpectedly".
pub struct Tmux {
    name: String,
}

impl Tmux {
    /// Starts `command` in a detached 150x50 session called `name`.
    pub fn start(name: &str, command: &str) -> Self {
        let status = Command::new("tmux")
            .args([
                "-L",
                name,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "150",
                "-y",
                "50",
                command,
            ])
            .status()
            .expect("tmux is required for terminal tests (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        Self {
            name: name.to_string(),
        }
    }

    /// Types `keys` (tmux key names or text).
    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.name, "send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.name, "capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen with its escape sequences (colours, attributes) kept.
    pub fn screen_with_escapes(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.name,
                "capture-pane",
                "-p",
                "-e",
                "-t",
                &self.name,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits up to 20 s for `needle` on the screen; returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        let mut last = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            last = self.screen();
            if last.contains(needle) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{needle:?} never appeared on the terminal; screen:\n{last}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "kill-server"])
            .status();
    }
}
