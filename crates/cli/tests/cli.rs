//! The `metal` binary end to end against `metal sim` run as a separate process, as an operator
//! would use them: JSON output, exit codes, and what the simulated boards saw (their log).

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::SimProcess;

const PASSWORD: &str = "Secr3t!pw";

fn metal(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_metal"))
        .args(args)
        .env_remove("METAL_AMT_PASSWORD")
        .env("METAL_CONFIG", "/nonexistent/metal-config.toml")
        .output()
        .expect("run metal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn metal_json(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = metal(&all);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?} stderr {stderr:?}"));
    (code, doc)
}

#[test]
fn power_and_one_shot_boot_through_the_binary() {
    let sim = SimProcess::start(PASSWORD, &["--boards", "6", "--first-ip", "127.0.121.1"]);
    let (code, doc) = metal_json(&["power", "status", "127.0.121.0/29", "--password", PASSWORD]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["ok"], 6);
    assert!(
        doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["power"] == "on"),
        "{doc}"
    );

    let (code, doc) = metal_json(&["power", "off", "127.0.121.2", "--password", PASSWORD]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["hosts"][0]["power"], "off");
    let (_, doc) = metal_json(&["power", "status", "127.0.121.2", "--password", PASSWORD]);
    assert_eq!(doc["hosts"][0]["power"], "off");
    sim.wait_for(|l| l == "127.0.121.2 power 2 -> 8");

    let (code, doc) = metal_json(&[
        "boot",
        "pxe",
        "127.0.121.5",
        "--now",
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["hosts"][0]["next_boot"], "pxe");
    assert_eq!(doc["hosts"][0]["power_action"], "reset");
    sim.wait_for(|l| l == "127.0.121.5 boot from pxe (one-shot override)");

    let (code, _) = metal_json(&["power-cycle", "127.0.121.5", "--password", PASSWORD]);
    assert_eq!(code, 0);
    sim.wait_for(|l| l == "127.0.121.5 boot from disk (default)");

    let (code, doc) = metal_json(&["show", "127.0.121.5", "--password", PASSWORD]);
    assert_eq!(code, 0, "{doc}");
    let host = &doc["hosts"][0];
    assert_eq!(host["next_boot"], Value::Null, "override used up: {host}");
    assert_eq!(host["hardware"]["uuid"].as_str().unwrap().len(), 36);
    assert_eq!(
        host["hardware"]["disks"].as_array().unwrap().len(),
        4,
        "board index 4 has four disks"
    );
}

#[test]
fn wrong_password_fails_every_host_with_exit_3_and_two_requests_each() {
    let sim = SimProcess::start(PASSWORD, &["--boards", "3", "--first-ip", "127.0.122.1"]);
    let (code, doc) = metal_json(&[
        "power",
        "status",
        "127.0.122.1,127.0.122.2,127.0.122.3",
        "--password",
        "nope",
    ]);
    assert_eq!(code, 3, "{doc}");
    for host in doc["hosts"].as_array().unwrap() {
        assert_eq!(host["error"]["kind"], "auth", "{host}");
        let ip = host["host"].as_str().unwrap();
        assert!(host["error"]["message"].as_str().unwrap().contains(ip));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            sim.lines_about(ip).len(),
            2,
            "{ip}: {:?}",
            sim.lines_about(ip)
        );
    }
}

#[test]
fn one_dead_board_times_out_alone_and_exit_is_2() {
    let _sim = SimProcess::start(
        PASSWORD,
        &[
            "--boards",
            "3",
            "--first-ip",
            "127.0.123.1",
            "--fault",
            "127.0.123.2=hang",
        ],
    );
    let (code, doc) = metal_json(&[
        "power",
        "status",
        "127.0.123.0/30",
        "--password",
        PASSWORD,
        "--read-timeout",
        "1",
    ]);
    assert_eq!(code, 2, "{doc}");
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0]["ok"], true);
    assert_eq!(hosts[1]["error"]["kind"], "timeout", "{doc}");
}

#[test]
fn table_output_names_each_host_and_the_cause() {
    let _sim = SimProcess::start(PASSWORD, &["--boards", "1", "--first-ip", "127.0.124.1"]);
    let (code, stdout, _) = metal(&[
        "power",
        "status",
        "127.0.124.1,127.0.124.9",
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 2);
    assert!(
        stdout.contains("127.0.124.1") && stdout.contains(" on "),
        "{stdout}"
    );
    assert!(
        stdout.contains("127.0.124.9") && stdout.contains("[connection]"),
        "{stdout}"
    );
    assert!(stdout.contains("1 ok, 1 failed"), "{stdout}");
}

#[test]
fn usage_errors_exit_1_with_a_message() {
    let (code, _, stderr) = metal(&["power", "status", "10.0.0.0/33", "--password", "x"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid target"), "{stderr}");
    let (code, _, stderr) = metal(&["power", "status", "127.0.0.1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no AMT password"), "{stderr}");
}

#[test]
fn discover_finds_the_simulated_boards_and_their_version() {
    let _sim = SimProcess::start(
        PASSWORD,
        &[
            "--boards",
            "3",
            "--first-ip",
            "127.0.125.1",
            "--profile",
            "amt-11",
        ],
    );
    let (code, doc) = metal_json(&["discover", "127.0.125.0/29"]);
    assert_eq!(code, 0);
    assert_eq!(doc["probed"], 6);
    let found = doc["found"].as_array().unwrap();
    assert_eq!(found.len(), 3, "{doc}");
    assert!(
        found
            .iter()
            .all(|f| f["http"] == true && f["version"].as_str().unwrap().starts_with("11.8")),
        "{doc}"
    );
}

#[test]
fn demo_walks_through_a_simulated_rack() {
    let (code, stdout, stderr) = metal(&["demo", "--boards", "4", "--first-ip", "127.0.126.1"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("4 AMT endpoints among 4 addresses"),
        "{stdout}"
    );
    assert!(
        stdout.contains("127.0.126.4  booted from: pxe (one-shot)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("No board has a pending boot override"),
        "{stdout}"
    );
}

#[test]
fn tls_pins_on_first_use_through_the_binary_on_tls_only_firmware() {
    let _sim = SimProcess::start(
        PASSWORD,
        &[
            "--boards",
            "2",
            "--first-ip",
            "127.0.127.1",
            "--profile",
            "amt-16-tls-only",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_amt_hosts");
    let known = known.to_str().unwrap();
    let (code, doc) = metal_json(&[
        "power",
        "status",
        "127.0.127.1,127.0.127.2",
        "--tls",
        "--known-hosts",
        known,
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 0, "{doc}");
    let pins = std::fs::read_to_string(known).unwrap();
    assert_eq!(pins.lines().count(), 2, "{pins}");
    assert!(
        pins.contains("127.0.127.1:16993 ") && pins.contains("127.0.127.2:16993 "),
        "{pins}"
    );
    let (code, _) = metal_json(&[
        "power",
        "status",
        "127.0.127.1",
        "--tls",
        "--known-hosts",
        known,
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 0, "the pinned certificate is accepted again");
    // Plain HTTP is closed on this firmware profile: the error says so for the host.
    let (code, doc) = metal_json(&["power", "status", "127.0.127.1", "--password", PASSWORD]);
    assert_eq!(code, 3);
    assert_eq!(doc["hosts"][0]["error"]["kind"], "connection", "{doc}");
    let (code, doc) = metal_json(&["discover", "127.0.127.1"]);
    assert_eq!(code, 0);
    assert_eq!(
        (
            doc["found"][0]["http"].as_bool(),
            doc["found"][0]["tls"].as_bool()
        ),
        (Some(false), Some(true)),
        "{doc}"
    );
    assert!(
        doc["found"][0]["version"]
            .as_str()
            .unwrap()
            .starts_with("16.1"),
        "{doc}"
    );
}

#[test]
fn a_swapped_certificate_file_entry_is_refused_with_both_fingerprints() {
    let _sim = SimProcess::start(
        PASSWORD,
        &["--boards", "1", "--first-ip", "127.0.128.1", "--tls"],
    );
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_amt_hosts");
    std::fs::write(&known, format!("127.0.128.1:16993 {}\n", "ab".repeat(32))).unwrap();
    let known = known.to_str().unwrap();
    let status = |extra: &[&str]| {
        let mut args = vec![
            "power",
            "status",
            "127.0.128.1",
            "--tls",
            "--known-hosts",
            known,
            "--password",
            PASSWORD,
        ];
        args.extend_from_slice(extra);
        metal_json(&args)
    };
    let (code, doc) = status(&[]);
    assert_eq!(code, 3, "{doc}");
    let message = doc["hosts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("TLS certificate changed") && message.contains(&"ab".repeat(32)),
        "{message}"
    );
    let (code, _) = status(&["--repin"]);
    assert_eq!(code, 0, "explicit re-pin");
    let (code, _) = status(&[]);
    assert_eq!(code, 0, "the new pin holds");
}

#[test]
fn credentials_from_the_config_file() {
    let _sim = SimProcess::start(PASSWORD, &["--boards", "1", "--first-ip", "127.0.129.1"]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[amt]\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_metal"))
        .args(["power", "status", "127.0.129.1", "--json"])
        .env_remove("METAL_AMT_PASSWORD")
        .env("METAL_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&config, "[amt]\npasword = \"typo\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_metal"))
        .args(["power", "status", "127.0.129.1"])
        .env("METAL_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pasword"),
        "unknown keys are named"
    );
}
