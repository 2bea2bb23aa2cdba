//! `metal console` end to end against `metal sim` as a separate process: the interactive mode
//! driven through a real terminal (tmux), `--expect` after a power-on, and `--record` over a
//! rack across a reset. tmux must be installed (`.ci/run` installs it); without it the
//! interactive test fails with that message rather than passing.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, SimProcess, wait_until};

const PASSWORD: &str = "Secr3t!pw";

/// Starts `metal console HOST --expect PATTERN --timeout SECS` in the background and gives it
/// time to open its session.
fn spawn_expect(host: &str, pattern: &str, timeout: &str) -> std::process::Child {
    let child = Command::new(BIN)
        .args([
            "console",
            host,
            "--expect",
            pattern,
            "--timeout",
            timeout,
            "--password",
            PASSWORD,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start metal console");
    std::thread::sleep(Duration::from_millis(1500));
    child
}

fn metal(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .args(["--password", PASSWORD])
        .output()
        .expect("run metal")
}

/// A tmux session running one command in a real pseudo-terminal; killed on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Self {
        let status = Command::new("tmux")
            .args([
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
            .expect("tmux is required for the interactive console test (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        Self {
            name: name.to_string(),
        }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
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
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

#[test]
fn interactive_console_in_a_real_terminal_with_tilde_dot() {
    let _sim = SimProcess::start(
        PASSWORD,
        &["--quiet", "--boards", "1", "--first-ip", "127.0.160.1"],
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("console.log");
    // After metal exits, the shell prints the exit code and whether the terminal is back in
    // canonical mode with echo (raw mode would show -icanon -echo).
    let command = format!(
        "{BIN} console 127.0.160.1 --password '{PASSWORD}' --log {}; echo EXIT=$?; echo TTY=$(stty -a | grep -o -- '-\\?icanon\\|-\\?echo ' | tr '\\n' ' ')END; sleep 60",
        log.display()
    );
    let tmux = Tmux::start(
        "metal-console-test",
        &format!("bash -c \"{}\"", command.replace('"', "\\\"")),
    );
    tmux.wait_for("type ~. at the start of a line to leave");
    tmux.keys(&["Enter"]);
    // capture-pane drops trailing blanks: "login: " reads as "login:".
    tmux.wait_for("login:");
    tmux.keys(&["root", "Enter"]);
    tmux.wait_for("Password:");
    tmux.keys(&["pw", "Enter"]);
    tmux.wait_for(":~#");
    tmux.keys(&["echo hello-from-tmux", "Enter"]);
    tmux.wait_for("\nhello-from-tmux\n");
    // A tilde in the middle of a line is sent as typed; at the start of a line ~. leaves.
    tmux.keys(&["echo a~.b", "Enter"]);
    tmux.wait_for("\na~.b\n");
    tmux.keys(&["~."]);
    let screen = tmux.wait_for("END");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("icanon") && !screen.contains("-icanon"),
        "terminal not restored:\n{screen}"
    );
    assert!(
        screen.contains("echo ") && !screen.contains("-echo "),
        "echo not restored:\n{screen}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.lines().any(|l| l.ends_with(" hello-from-tmux")),
        "{logged}"
    );
}

#[test]
fn expect_returns_once_the_board_prints_login_after_a_power_on() {
    let _sim = SimProcess::start(
        PASSWORD,
        &["--quiet", "--boards", "2", "--first-ip", "127.0.161.1"],
    );
    assert!(metal(&["power", "off", "127.0.161.2"]).status.success());
    let waiter = spawn_expect("127.0.161.2", "login:", "60");
    let on = metal(&["power", "on", "127.0.161.2"]);
    assert!(
        on.status.success(),
        "{}",
        String::from_utf8_lossy(&on.stdout)
    );
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("login:"));
}

#[test]
fn expect_times_out_with_the_last_lines() {
    let _sim = SimProcess::start(
        PASSWORD,
        &["--quiet", "--boards", "1", "--first-ip", "127.0.162.1"],
    );
    let out = metal(&[
        "console",
        "127.0.162.1",
        "--expect",
        "never-printed",
        "--timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("127.0.162.1") && stderr.contains("no line matching"),
        "{stderr}"
    );
}

#[test]
fn record_captures_every_board_and_reconnects() {
    let sim = SimProcess::start(
        PASSWORD,
        &["--quiet", "--boards", "4", "--first-ip", "127.0.163.1"],
    );
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let recorder = Command::new(BIN)
        .args([
            "console",
            "--record",
            "127.0.163.0/29",
            "--dir",
            logs.to_str().unwrap(),
            "--password",
            PASSWORD,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let opened =
        |host: &str| read(&logs.join(format!("{host}.log"))).contains("SOL session 1 opened");
    wait_until("every board is recorded", Duration::from_secs(20), || {
        (1..=4).all(|i| opened(&format!("127.0.163.{i}")))
    });
    // Resets are allowed while SOL is open: every board reboots on camera.
    let reset = metal(&[
        "power",
        "reset",
        "127.0.163.1,127.0.163.2,127.0.163.3,127.0.163.4",
    ]);
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stdout)
    );
    wait_until(
        "every board's reboot is recorded",
        Duration::from_secs(30),
        || (1..=4).all(|i| read(&logs.join(format!("127.0.163.{i}.log"))).contains("Booting from")),
    );
    // The boards' management engines go away and come back: every recorder reconnects.
    drop(sim);
    let _sim = SimProcess::start(
        PASSWORD,
        &["--quiet", "--boards", "4", "--first-ip", "127.0.163.1"],
    );
    wait_until(
        "every board is recorded again",
        Duration::from_secs(30),
        || {
            (1..=4).all(|i| {
                read(&logs.join(format!("127.0.163.{i}.log"))).contains("SOL session 2 opened")
            })
        },
    );
    // Stop, then check the summary: one row per address of the block, two of them empty.
    let pid = recorder.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = recorder.wait_with_output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("127.0.163.1") && table.contains("127.0.163.6"),
        "{table}"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "boards .5 and .6 do not exist: {table}"
    );
    for i in 1..=4 {
        let text = read(&logs.join(format!("127.0.163.{i}.log")));
        assert!(
            text.lines().all(|l| l.len() > 24 && &l[10..11] == "T"),
            "timestamped lines: {text}"
        );
        assert!(text.contains("Booting from"), "127.0.163.{i}: {text}");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn console_enables_sol_when_the_board_has_it_off_and_says_so() {
    let _sim = SimProcess::start(
        PASSWORD,
        &[
            "--quiet",
            "--boards",
            "1",
            "--first-ip",
            "127.0.164.1",
            "--sol-disabled",
        ],
    );
    let waiter = spawn_expect("127.0.164.1", "node-0 login:", "30");
    // The host prints nothing until it does something: a reset makes it boot on camera.
    assert!(metal(&["power", "reset", "127.0.164.1"]).status.success());
    let out = waiter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("127.0.164.1: SOL was disabled in AMT_RedirectionService; enabled it"),
        "{stderr}"
    );
}
