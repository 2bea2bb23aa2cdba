//! `metal console` end to end against `metal sim` as a separate process: the interactive mode
//! driven through a real terminal (tmux), `--expect` after a power-on, and `--record` over a
//! rack across a reset. tmux must be installed (`.ci/run` installs it); without it the
//! interactive test fails with that message rather than passing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::process::wait_until;
use metal_test_support::sim::SimProcess;
use metal_test_support::terminal::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Secr3t!pw";

/// `metal` in an environment of its own with the boards' password, and no inventory.
fn metal() -> Metal {
    Metal::new(BIN).password(PASSWORD).no_inventory()
}

/// `metal sim --quiet` with `boards` boards from the block's first address.
fn quiet_sim(block: &Block, boards: usize, extra: &[&str]) -> SimProcess {
    SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(boards)
        .args(["--quiet"])
        .args(extra)
        .start()
}

#[test]
fn interactive_console_in_a_real_terminal_with_tilde_dot() {
    let block = Block::allocate();
    let _sim = quiet_sim(&block, 1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("console.log");
    // After metal exits, the shell prints the exit code and whether the terminal is back in
    // canonical mode with echo (raw mode would show -icanon -echo).
    let command = format!(
        "{BIN} console {} --password '{PASSWORD}' --log {}; echo EXIT=$?; echo TTY=$(stty -a | grep -o -- '-\\?icanon\\|-\\?echo ' | tr '\\n' ' ')END; sleep 60",
        block.first(),
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
    let block = Block::allocate();
    let _sim = quiet_sim(&block, 2, &[]);
    let metal = metal();
    let two = block.ip(2).to_string();
    assert_eq!(metal.run(&["power", "off", &two]).0, 0);
    let waiter = metal.expect_in_background(&two, "login:", 60);
    let (code, stdout, _) = metal.run(&["power", "on", &two]);
    assert_eq!(code, 0, "{stdout}");
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
    let block = Block::allocate();
    let _sim = quiet_sim(&block, 1, &[]);
    let one = block.first().to_string();
    let (code, _, stderr) = metal().run(&[
        "console",
        &one,
        "--expect",
        "never-printed",
        "--timeout",
        "2",
    ]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains(&one) && stderr.contains("no line matching"),
        "{stderr}"
    );
}

#[test]
fn record_captures_every_board_and_reconnects() {
    let block = Block::allocate();
    let sim = quiet_sim(&block, 4, &[]);
    let metal = metal();
    let logs = metal.dir().join("logs");
    let recorder = metal
        .command(["console", "--record", &block.cidr(29), "--dir"])
        .arg(&logs)
        .spawn();
    let log_of = |ip: std::net::Ipv4Addr| read(&logs.join(format!("{ip}.log")));
    wait_until("every board is recorded", Duration::from_secs(20), || {
        block
            .range(4)
            .all(|ip| log_of(ip).contains("SOL session 1 opened"))
    });
    // Resets are allowed while SOL is open: every board reboots on camera.
    let (code, stdout, _) = metal.run(&["power", "reset", &block.list(4)]);
    assert_eq!(code, 0, "{stdout}");
    wait_until(
        "every board's reboot is recorded",
        Duration::from_secs(30),
        || block.range(4).all(|ip| log_of(ip).contains("Booting from")),
    );
    // The boards' management engines go away and come back: every recorder reconnects.
    drop(sim);
    let _sim = quiet_sim(&block, 4, &[]);
    wait_until(
        "every board is recorded again",
        Duration::from_secs(30),
        || {
            block
                .range(4)
                .all(|ip| log_of(ip).contains("SOL session 2 opened"))
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
        table.contains(&block.ip(1).to_string()) && table.contains(&block.ip(6).to_string()),
        "{table}"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "boards .5 and .6 do not exist: {table}"
    );
    for ip in block.range(4) {
        let text = log_of(ip);
        assert!(
            text.lines().all(|l| l.len() > 24 && &l[10..11] == "T"),
            "timestamped lines: {text}"
        );
        assert!(text.contains("Booting from"), "{ip}: {text}");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn console_enables_sol_when_the_board_has_it_off_and_says_so() {
    let block = Block::allocate();
    let _sim = quiet_sim(&block, 1, &["--sol-disabled"]);
    let metal = metal();
    let one = block.first().to_string();
    let waiter = metal.expect_in_background(&one, "node-0 login:", 30);
    // The host prints nothing until it does something: a reset makes it boot on camera.
    assert_eq!(metal.run(&["power", "reset", &one]).0, 0);
    let out = waiter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{one}: SOL was disabled in AMT_RedirectionService; enabled it"
        )),
        "{stderr}"
    );
}
