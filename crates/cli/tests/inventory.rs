//! Inventory commands end to end: `metal enroll`, `ls`, `show`, `events`, target resolution and
//! the wrong-box guard, against `metal sim` run as a separate process. Each test has its own
//! SQLite inventory in a temporary directory and its own loopback block (127.0.7x.0/24), so
//! the tests can run in parallel with each other and with the other CLI tests.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::SimProcess;

mod support;

const PASSWORD: &str = "Inv3ntory!pw";

/// `metal sim` with `boards` boards from `first_ip`.
fn start_sim(boards: usize, first_ip: &str) -> SimProcess {
    SimProcess::start(
        PASSWORD,
        &["--boards", &boards.to_string(), "--first-ip", first_ip],
    )
}

/// Runs `metal` on the inventory in `dir`, with the password in the environment.
fn metal_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = support::metal_on_inventory(dir, "");
    cmd.args(args).env_remove("METAL_AMT_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run metal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn metal(dir: &Path, args: &[&str]) -> (i32, String, String) {
    metal_in(dir, &[("METAL_AMT_PASSWORD", PASSWORD)], args)
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = metal(dir, &all);
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?} stderr {stderr:?}"));
    (code, doc)
}

fn machines(dir: &Path) -> Vec<Value> {
    let (code, doc) = json(dir, &["ls"]);
    assert_eq!(code, 0, "{doc}");
    doc["machines"].as_array().unwrap().clone()
}

fn distinct(ms: &[Value], field: &str) -> usize {
    ms.iter()
        .map(|m| m[field].as_str().unwrap().to_string())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[test]
fn enrol_a_rack_of_30_again_and_twice_at_once_still_gives_30() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _sim = start_sim(30, "127.0.71.1");
    let (code, doc) = json(d, &["enroll", "127.0.71.0/27", "--rack", "r01"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["summary"]["ok"], 30, "{doc}");
    let hosts = doc["hosts"].as_array().unwrap();
    assert!(hosts.iter().all(|h| h["result"] == "enrolled"), "{doc}");
    assert_eq!(hosts[0]["hostname"], "r01-h01");
    assert_eq!(hosts[0]["profile"], "desktop-4g-diskless");
    assert_eq!(hosts[1]["profile"], "desktop-8g-raid10");
    assert_eq!(hosts[2]["profile"], "desktop-8g-ssd-raid0");

    let (code, out, _) = metal(d, &["enroll", "127.0.71.0/27", "--rack", "r01"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Nothing changed: all 30 boards were already enrolled."),
        "{out}"
    );

    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_metal"))
            .args(["enroll", "127.0.71.0/27", "--rack", "r01", "--json"])
            .env(
                "METAL_DB",
                format!("sqlite://{}", d.join("inventory.db").display()),
            )
            .env("METAL_AMT_PASSWORD", PASSWORD)
            .env("METAL_CONFIG", "/nonexistent/metal-config.toml")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());

    let ms = machines(d);
    assert_eq!(ms.len(), 30);
    for field in ["hostname", "address", "uuid", "amt_address", "mac"] {
        assert_eq!(distinct(&ms, field), 30, "{field}");
    }
    // The password is nowhere in the database files (main file, WAL, shared memory).
    for entry in std::fs::read_dir(d).unwrap() {
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
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = start_sim(4, "127.0.72.1");
    let (code, doc) = json(d, &["enroll", "127.0.72.0/29", "--rack", "r02"]);
    assert_eq!(code, 0, "{doc}");
    let (code, doc) = json(d, &["power", "status", "rack:r02"]);
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(4)), "{doc}");
    let (code, doc) = json(d, &["power", "off", "r02-h03"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["hosts"][0]["host"], "127.0.72.3");
    sim.wait_for(|l| l == "127.0.72.3 power 2 -> 8");
    let (code, doc) = json(d, &["power", "status", "all"]);
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(4)), "{doc}");
    let (code, _, err) = metal(d, &["power", "status", "r02-h99"]);
    assert_eq!(code, 1);
    assert!(err.contains("r02-h99 is not in the inventory"), "{err}");
    let (code, _, err) = metal(d, &["power", "status", "rack:nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("rack:nope has no machines"), "{err}");
    let recorded: Vec<String> = machines(d)
        .iter()
        .map(|m| m["uuid"].as_str().unwrap().to_string())
        .collect();
    drop(sim);

    // The same boards come back one address up: every address now answers with its
    // neighbour's UUID.
    let sim = start_sim(4, "127.0.72.2");
    let (code, doc) = json(d, &["power", "cycle", "r02-h02"]);
    assert_eq!(code, 3, "{doc}");
    assert_eq!(doc["hosts"][0]["error"]["kind"], "wrong-board", "{doc}");
    let message = doc["hosts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&recorded[1]) && message.contains(&recorded[0]),
        "both UUIDs named: {message}"
    );
    let (code, doc) = json(d, &["boot", "pxe", "r02-h03", "--now"]);
    assert_eq!(code, 3, "{doc}");
    let log = sim.lines();
    assert!(
        !log.iter()
            .any(|l| l.contains(" power ") || l.contains(" boot from ")),
        "nothing may change on a refused board: {log:?}"
    );
    // Reading is not guarded.
    let (code, _) = json(d, &["power", "status", "r02-h02"]);
    assert_eq!(code, 0);
}

#[test]
fn show_events_boot_and_unmatched_boards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = start_sim(3, "127.0.73.1");
    // Only the diskless profile: the two disk boards are recorded but not provisioned.
    let profiles = d.join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../hardware-profiles/desktop-4g-diskless.toml"
        ),
        profiles.join("desktop-4g-diskless.toml"),
    )
    .unwrap();
    let profiles = profiles.to_str().unwrap();
    let (code, doc) = json(
        d,
        &[
            "enroll",
            "127.0.73.0/30",
            "--rack",
            "r03",
            "--boot",
            "--profiles",
            profiles,
            "--pool",
            "10.9.8.0/24",
        ],
    );
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
    sim.wait_for(|l| l == "127.0.73.1 boot from pxe (one-shot override)");
    assert!(!sim.lines().iter().any(|l| l.starts_with("127.0.73.2 boot")));

    let (code, out, _) = metal(d, &["show", "r03-h01"]);
    assert_eq!(code, 0);
    for want in [
        "rack r03",
        "board 127.0.73.1",
        "dom0 r03-h01 10.9.8.1 [provisioning]",
        "desktop-4g-diskless",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }
    let (code, out, _) = metal(d, &["events", "r03-h01"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("new -> enrolled") && out.contains("enrolled -> provisioning"),
        "{out}"
    );
    let (_, out, _) = metal(d, &["events", "r03-h02"]);
    assert!(
        out.contains("not provisioned: no hardware profile matches"),
        "{out}"
    );
    // The plain-IP `show` still reads the live board.
    let (code, doc) = json(d, &["show", "127.0.73.1"]);
    assert_eq!(code, 0, "{doc}");
    assert!(doc["hosts"][0]["hardware"]["uuid"].is_string());
    let (code, _, err) = metal(d, &["show", "nosuchhost"]);
    assert_eq!(code, 1);
    assert!(err.contains("nosuchhost is not in the inventory"), "{err}");
}

#[test]
fn credential_sets_resolve_from_the_environment_or_a_private_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _sim = start_sim(2, "127.0.74.1");
    let env = [("METAL_AMT_PASSWORD_LAB_A", PASSWORD)];
    let (code, out, err) = metal_in(
        d,
        &env,
        &[
            "enroll",
            "127.0.74.0/30",
            "--rack",
            "r04",
            "--credential-set",
            "lab-a",
        ],
    );
    assert_eq!(code, 0, "{out} {err}");
    assert!(machines(d).iter().all(|m| m["credential_set"] == "lab-a"));
    // No password anywhere but the set's variable: commands on names use the set.
    let (code, out, err) = metal_in(d, &env, &["power", "status", "rack:r04"]);
    assert_eq!(code, 0, "{out} {err}");
    // From the secrets file, which must be private.
    let secrets = d.join("secrets.toml");
    std::fs::write(
        &secrets,
        format!("[credentials.lab-a]\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = metal_in(d, &[], &["power", "status", "r04-h01"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("chmod 600") && !err.contains(PASSWORD),
        "{err}"
    );
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out, err) = metal_in(d, &[], &["power", "status", "r04-h01"]);
    assert_eq!(code, 0, "{out} {err}");
    let (code, _, err) = metal_in(
        d,
        &[],
        &[
            "enroll",
            "127.0.74.0/30",
            "--rack",
            "r04",
            "--credential-set",
            "other",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("credential set \"other\""), "{err}");
}
