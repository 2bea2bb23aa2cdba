//! The `metal` binary end to end against `metal sim` run as a separate process, as an operator
//! would use them: JSON output, exit codes, and what the simulated boards saw (their log).
//! Commands on raw addresses run without an inventory, as on a machine that never had one.

use std::time::Duration;

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Secr3t!pw";

/// `metal` in an environment of its own, with no AMT password and no inventory.
fn metal() -> Metal {
    Metal::new(BIN).no_inventory()
}

#[test]
fn power_and_one_shot_boot_through_the_binary() {
    let block = Block::allocate();
    let sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(6)
        .start();
    let metal = metal();
    let (code, doc) = metal.json(&["power", "status", &block.cidr(29), "--password", PASSWORD]);
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

    let (two, five) = (block.ip(2).to_string(), block.ip(5).to_string());
    let (code, doc) = metal.json(&["power", "off", &two, "--password", PASSWORD]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["hosts"][0]["power"], "off");
    let (_, doc) = metal.json(&["power", "status", &two, "--password", PASSWORD]);
    assert_eq!(doc["hosts"][0]["power"], "off");
    sim.wait_for(|l| l == format!("{two} power 2 -> 8"));

    let (code, doc) = metal.json(&["boot", "pxe", &five, "--now", "--password", PASSWORD]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["hosts"][0]["next_boot"], "pxe");
    assert_eq!(doc["hosts"][0]["power_action"], "reset");
    sim.wait_for(|l| l == format!("{five} boot from pxe (one-shot override)"));

    let (code, _) = metal.json(&["power-cycle", &five, "--password", PASSWORD]);
    assert_eq!(code, 0);
    sim.wait_for(|l| l == format!("{five} boot from disk (default)"));

    let (code, doc) = metal.json(&["show", &five, "--password", PASSWORD]);
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
    let block = Block::allocate();
    let sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .start();
    let (code, doc) = metal().json(&["power", "status", &block.list(3), "--password", "nope"]);
    assert_eq!(code, 3, "{doc}");
    for host in doc["hosts"].as_array().unwrap() {
        assert_eq!(host["error"]["kind"], "auth", "{host}");
        let ip = host["host"].as_str().unwrap();
        assert!(host["error"]["message"].as_str().unwrap().contains(ip));
        let ip = ip.parse().unwrap();
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
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .args(["--fault", &format!("{}=hang", block.ip(2))])
        .start();
    let (code, doc) = metal().json(&[
        "power",
        "status",
        &block.cidr(30),
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
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(1)
        .start();
    let (one, nine) = (block.ip(1).to_string(), block.ip(9).to_string());
    let (code, stdout, _) = metal().run(&[
        "power",
        "status",
        &format!("{one},{nine}"),
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 2);
    assert!(stdout.contains(&one) && stdout.contains(" on "), "{stdout}");
    assert!(
        stdout.contains(&nine) && stdout.contains("[connection]"),
        "{stdout}"
    );
    assert!(stdout.contains("1 ok, 1 failed"), "{stdout}");
}

#[test]
fn usage_errors_exit_1_with_a_message() {
    let metal = metal();
    let (code, _, stderr) = metal.run(&["power", "status", "10.0.0.0/33", "--password", "x"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid target"), "{stderr}");
    // Refused before any connection is made: the address is never contacted.
    let (code, _, stderr) = metal.run(&["power", "status", "127.0.0.1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no AMT password"), "{stderr}");
}

#[test]
fn discover_finds_the_simulated_boards_and_their_version() {
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(3)
        .args(["--profile", "amt-11"])
        .start();
    let (code, doc) = metal().json(&["discover", &block.cidr(29)]);
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
    let block = Block::allocate();
    let (code, stdout, stderr) = metal().run(&[
        "demo",
        "--boards",
        "4",
        "--first-ip",
        &block.first().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("4 AMT endpoints among 4 addresses"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}  booted from: pxe (one-shot)", block.ip(4))),
        "{stdout}"
    );
    assert!(
        stdout.contains("No board has a pending boot override"),
        "{stdout}"
    );
}

#[test]
fn tls_pins_on_first_use_through_the_binary_on_tls_only_firmware() {
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(2)
        .args(["--profile", "amt-16-tls-only"])
        .start();
    let metal = metal();
    let known = metal.dir().join("known_amt_hosts");
    let known = known.to_str().unwrap();
    let (one, two) = (block.ip(1).to_string(), block.ip(2).to_string());
    let (code, doc) = metal.json(&[
        "power",
        "status",
        &block.list(2),
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
        pins.contains(&format!("{one}:16993 ")) && pins.contains(&format!("{two}:16993 ")),
        "{pins}"
    );
    let (code, _) = metal.json(&[
        "power",
        "status",
        &one,
        "--tls",
        "--known-hosts",
        known,
        "--password",
        PASSWORD,
    ]);
    assert_eq!(code, 0, "the pinned certificate is accepted again");
    // Plain HTTP is closed on this firmware profile: the error says so for the host.
    let (code, doc) = metal.json(&["power", "status", &one, "--password", PASSWORD]);
    assert_eq!(code, 3);
    assert_eq!(doc["hosts"][0]["error"]["kind"], "connection", "{doc}");
    let (code, doc) = metal.json(&["discover", &one]);
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
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(1)
        .args(["--tls"])
        .start();
    let metal = metal();
    let known = metal.dir().join("known_amt_hosts");
    let one = block.first().to_string();
    std::fs::write(&known, format!("{one}:16993 {}\n", "ab".repeat(32))).unwrap();
    let known = known.to_str().unwrap();
    let status = |extra: &[&str]| {
        let mut args = vec![
            "power",
            "status",
            &one,
            "--tls",
            "--known-hosts",
            known,
            "--password",
            PASSWORD,
        ];
        args.extend_from_slice(extra);
        metal.json(&args)
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
    let block = Block::allocate();
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(1)
        .start();
    let metal = metal();
    let one = block.first().to_string();
    std::fs::write(
        metal.config_file(),
        format!("[amt]\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    // A file holding a password that others may read is refused, like the secrets file.
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |m| std::fs::set_permissions(metal.config_file(), std::fs::Permissions::from_mode(m));
    mode(0o644).unwrap();
    let (code, _, stderr) = metal.run(&["power", "status", &one]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("chmod 600") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
    mode(0o600).unwrap();
    let (code, _, stderr) = metal.run(&["power", "status", &one, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(metal.config_file(), "[amt]\npasword = \"typo\"\n").unwrap();
    let (code, _, stderr) = metal.run(&["power", "status", &one]);
    assert_eq!(code, 1);
    assert!(stderr.contains("pasword"), "unknown keys are named");
}
