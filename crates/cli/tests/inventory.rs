//! Inventory commands end to end: `metal enroll`, `ls`, `show`, `events`, target resolution and
//! the wrong-box guard, against `metal sim` run as a separate process. Each test has its own
//! SQLite inventory in a temporary directory and its own loopback block, so the tests can run
//! in parallel with each other and with the other CLI tests.

use std::process::Stdio;

use metal_test_support::loopback::Block;
use metal_test_support::metal::{Metal, profiles_dir};
use metal_test_support::sim::SimProcess;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Inv3ntory!pw";

/// `metal sim` with `boards` boards from `first_ip`.
fn start_sim(boards: usize, first_ip: std::net::Ipv4Addr) -> SimProcess {
    SimProcess::builder(BIN, PASSWORD, first_ip)
        .boards(boards)
        .start()
}

fn distinct(ms: &[Value], field: &str) -> usize {
    ms.iter()
        .map(|m| m[field].as_str().unwrap().to_string())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[test]
fn enrol_a_rack_of_30_again_and_twice_at_once_still_gives_30() {
    let block = Block::allocate();
    let inv = Metal::new(BIN).password(PASSWORD);
    let _sim = start_sim(30, block.first());
    let cidr = block.cidr(27);
    let (code, doc) = inv.json(&["enroll", &cidr, "--rack", "r01"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["ok"], 30, "{doc}");
    let hosts = doc["hosts"].as_array().unwrap();
    assert!(hosts.iter().all(|h| h["result"] == "enrolled"), "{doc}");
    assert_eq!(hosts[0]["hostname"], "r01-h01");
    assert_eq!(hosts[0]["profile"], "desktop-4g-diskless");
    assert_eq!(hosts[1]["profile"], "desktop-8g-raid10");
    assert_eq!(hosts[2]["profile"], "desktop-8g-ssd-raid0");

    let (code, out, _) = inv.run(&["enroll", &cidr, "--rack", "r01"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Nothing changed: all 30 boards were already enrolled."),
        "{out}"
    );

    let spawn = || {
        inv.command(["enroll", &cidr, "--rack", "r01", "--json"])
            .into_command()
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());

    let ms = inv.machines();
    assert_eq!(ms.len(), 30);
    for field in ["hostname", "address", "uuid", "amt_address", "mac"] {
        assert_eq!(distinct(&ms, field), 30, "{field}");
    }
    // The password is nowhere in the database files (main file, WAL, shared memory).
    for entry in std::fs::read_dir(inv.dir()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let found = bytes
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes());
        assert!(!found, "the AMT password is stored in {}", path.display());
    }
    assert!(ms.iter().all(|m| m["credential_set"] == "default"));
}

#[test]
fn a_moved_board_is_refused_by_uuid_and_names_resolve() {
    let block = Block::allocate();
    let inv = Metal::new(BIN).password(PASSWORD);
    let sim = start_sim(4, block.first());
    let (code, doc) = inv.json(&["enroll", &block.cidr(29), "--rack", "r02"]);
    assert_eq!(code, 0, "{doc}");
    let (code, doc) = inv.json(&["power", "status", "rack:r02"]);
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(4)), "{doc}");
    let (code, doc) = inv.json(&["power", "off", "r02-h03"]);
    assert_eq!(code, 0, "{doc}");
    let three = block.ip(3).to_string();
    assert_eq!(doc["hosts"][0]["host"], three.as_str());
    sim.wait_for(|l| l == format!("{three} power 2 -> 8"));
    let (code, doc) = inv.json(&["power", "status", "all"]);
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(4)), "{doc}");
    let (code, _, err) = inv.run(&["power", "status", "r02-h99"]);
    assert_eq!(code, 1);
    assert!(err.contains("r02-h99 is not in the inventory"), "{err}");
    let (code, _, err) = inv.run(&["power", "status", "rack:nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("rack:nope has no machines"), "{err}");
    let recorded: Vec<String> = inv
        .machines()
        .iter()
        .map(|m| m["uuid"].as_str().unwrap().to_string())
        .collect();
    drop(sim);

    // The same boards come back one address up: every address now answers with its
    // neighbour's UUID.
    let sim = start_sim(4, block.ip(2));
    let (code, doc) = inv.json(&["power", "cycle", "r02-h02"]);
    assert_eq!(code, 3, "{doc}");
    assert_eq!(doc["hosts"][0]["error"]["kind"], "wrong-board", "{doc}");
    let message = doc["hosts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&recorded[1]) && message.contains(&recorded[0]),
        "both UUIDs named: {message}"
    );
    let (code, doc) = inv.json(&["boot", "pxe", "r02-h03", "--now"]);
    assert_eq!(code, 3, "{doc}");
    let log = sim.lines();
    assert!(
        !log.iter()
            .any(|l| l.contains(" power ") || l.contains(" boot from ")),
        "nothing may change on a refused board: {log:?}"
    );
    // Reading is not guarded.
    let (code, _) = inv.json(&["power", "status", "r02-h02"]);
    assert_eq!(code, 0);
}

#[test]
fn show_events_boot_and_unmatched_boards() {
    let block = Block::allocate();
    let inv = Metal::new(BIN).password(PASSWORD);
    let sim = start_sim(3, block.first());
    // Only the diskless profile: the two disk boards are recorded but not provisioned.
    let profiles = inv.dir().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    std::fs::copy(
        profiles_dir().join("desktop-4g-diskless.toml"),
        profiles.join("desktop-4g-diskless.toml"),
    )
    .unwrap();
    let profiles = profiles.to_str().unwrap();
    let (one, two) = (block.ip(1).to_string(), block.ip(2).to_string());
    let (code, doc) = inv.json(&[
        "enroll",
        &block.cidr(30),
        "--rack",
        "r03",
        "--boot",
        "--profiles",
        profiles,
        "--pool",
        "10.9.8.0/24",
    ]);
    assert_eq!(code, 0, "{doc}");
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts[0]["state"], "provisioning", "{doc}");
    assert_eq!(hosts[0]["address"], "10.9.8.1");
    assert_eq!(hosts[1]["result"], "not-provisioned");
    assert!(
        hosts[1]["note"]
            .as_str()
            .unwrap()
            .contains("8 GiB of memory, not 4"),
        "{doc}"
    );
    sim.wait_for(|l| l == format!("{one} boot from pxe (one-shot override)"));
    assert!(
        !sim.lines()
            .iter()
            .any(|l| l.starts_with(&format!("{two} boot")))
    );

    let (code, out, _) = inv.run(&["show", "r03-h01"]);
    assert_eq!(code, 0);
    let board = format!("board {one}");
    for want in [
        "rack r03",
        board.as_str(),
        "dom0 r03-h01 10.9.8.1 [provisioning]",
        "desktop-4g-diskless",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }
    let (code, out, _) = inv.run(&["events", "r03-h01"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("new -> enrolled") && out.contains("enrolled -> provisioning"),
        "{out}"
    );
    let (_, out, _) = inv.run(&["events", "r03-h02"]);
    assert!(
        out.contains("not provisioned: no hardware profile matches"),
        "{out}"
    );
    // The plain-IP `show` still reads the live board.
    let (code, doc) = inv.json(&["show", &one]);
    assert_eq!(code, 0, "{doc}");
    assert!(doc["hosts"][0]["hardware"]["uuid"].is_string());
    let (code, _, err) = inv.run(&["show", "nosuchhost"]);
    assert_eq!(code, 1);
    assert!(err.contains("nosuchhost is not in the inventory"), "{err}");
}

#[test]
fn credential_sets_resolve_from_the_environment_or_a_private_secrets_file() {
    let block = Block::allocate();
    // No METAL_AMT_PASSWORD: only the credential set's variable or the secrets file.
    let inv = Metal::new(BIN);
    let _sim = start_sim(2, block.first());
    let cidr = block.cidr(30);
    let lab_a = |args: &[&str]| {
        inv.command(args)
            .env("METAL_AMT_PASSWORD_LAB_A", PASSWORD)
            .run()
    };
    let (code, out, err) = lab_a(&[
        "enroll",
        &cidr,
        "--rack",
        "r04",
        "--credential-set",
        "lab-a",
    ]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(
        inv.machines()
            .iter()
            .all(|m| m["credential_set"] == "lab-a")
    );
    // No password anywhere but the set's variable: commands on names use the set.
    let (code, out, err) = lab_a(&["power", "status", "rack:r04"]);
    assert_eq!(code, 0, "{out} {err}");
    // From the secrets file, which must be private.
    let secrets = inv.secrets_file();
    std::fs::write(
        &secrets,
        format!("[credentials.lab-a]\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = inv.run(&["power", "status", "r04-h01"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("chmod 600") && !err.contains(PASSWORD),
        "{err}"
    );
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out, err) = inv.run(&["power", "status", "r04-h01"]);
    assert_eq!(code, 0, "{out} {err}");
    let (code, _, err) = inv.run(&[
        "enroll",
        &cidr,
        "--rack",
        "r04",
        "--credential-set",
        "other",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("credential set \"other\""), "{err}");
}
