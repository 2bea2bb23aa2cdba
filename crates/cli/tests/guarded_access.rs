//! One way to reach a board, whatever the command: `console`, `console --record`, `show` and
//! `power` of an inventory host all use its credential set and refuse a swapped board with the
//! same UUID error; and `metal events | head -1` on a long log ends quietly.

use std::process::Command;
use std::time::Duration;

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::process::wait_until;
use metal_test_support::sim::SimProcess;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const RACK_B: &str = "Rack-B-Passw0rd!";

fn sim(block: &Block, first: u32) -> SimProcess {
    SimProcess::builder(BIN, RACK_B, block.ip(first))
        .boards(2)
        .args(["--quiet", "--boot-output-ms", "300"])
        .start()
}

#[test]
fn every_board_command_uses_the_credential_set_and_the_uuid_guard() {
    let block = Block::allocate();
    let metal = Metal::new(BIN);
    let with_set = |args: &[&str]| metal.command(args).env("METAL_AMT_PASSWORD_RACKB", RACK_B);
    let sim_a = sim(&block, 1);
    // Only the set's variable is given: no METAL_AMT_PASSWORD, no --password.
    let (code, doc) = with_set(&[
        "enroll",
        &block.list(2),
        "--rack",
        "rb",
        "--credential-set",
        "rackb",
    ])
    .json();
    assert_eq!((code, doc["summary"]["ok"].as_u64()), (0, Some(2)), "{doc}");

    let (code, doc) = with_set(&["power", "status", "rb-h01"]).json();
    assert_eq!(code, 0, "{doc}");
    let (code, out, err) = with_set(&["show", "rb-h01"]).run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now: power on"), "{out}");
    let (code, doc) = with_set(&["show", "rb-h01"]).json();
    assert_eq!(
        (code, doc["live"]["ok"].as_bool()),
        (0, Some(true)),
        "{doc}"
    );

    // The console of an inventory host: opened with the set's password, sees the board boot.
    let console = with_set(&["console", "rb-h01", "--expect", "login:", "--timeout", "30"]).spawn();
    std::thread::sleep(Duration::from_millis(1500));
    // (AMT refuses a power cycle while SOL is open; a reset it takes.)
    let (code, doc) = with_set(&["power", "reset", "rb-h01"]).json();
    assert_eq!(code, 0, "{doc}");
    let out = console.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("login:"));

    // Recording a whole rack by name.
    let logs = metal.dir().join("logs");
    let recorder = with_set(&["console", "--record", "rack:rb", "--dir"])
        .arg(&logs)
        .arg("--json")
        .spawn();
    let opened = |ip| {
        std::fs::read_to_string(logs.join(format!("{ip}.log")))
            .unwrap_or_default()
            .contains("SOL session 1 opened")
    };
    wait_until("both consoles record", Duration::from_secs(30), || {
        opened(block.ip(1)) && opened(block.ip(2))
    });
    let stop = Command::new("kill")
        .args(["-TERM", &recorder.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let out = recorder.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["boards"].as_array().map(Vec::len), Some(2), "{doc}");

    // Without the set's password nothing reaches the board, and the error says where it goes.
    let (code, _, err) = metal.run(&["console", "rb-h01", "--expect", "x", "--timeout", "5"]);
    assert_eq!(code, 1);
    assert!(err.contains("METAL_AMT_PASSWORD_RACKB"), "{err}");
    let recorded_uuids: Vec<String> = metal
        .machines()
        .iter()
        .map(|m| m["uuid"].as_str().unwrap().to_string())
        .collect();
    drop(sim_a);

    // The same boards one address up: rb-h02's address now answers with rb-h01's board.
    let _sim_b = sim(&block, 2);
    let (code, doc) = with_set(&["power", "cycle", "rb-h02"]).json();
    assert_eq!(code, 3, "{doc}");
    assert_eq!(doc["hosts"][0]["error"]["kind"], "wrong-board", "{doc}");
    let power_message = doc["hosts"][0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    for args in [
        &["console", "rb-h02", "--expect", "login:", "--timeout", "10"][..],
        &["show", "rb-h02"],
    ] {
        let (code, out, err) = with_set(args).run();
        assert_eq!(code, 3, "{args:?}: {out}{err}");
        assert!(
            err.contains("refusing")
                && err.contains(&recorded_uuids[0])
                && err.contains(&recorded_uuids[1]),
            "{args:?} refuses like power ({power_message}): {err}"
        );
    }
    // By address too: the board at rb-h02's address is rb-h02 to the inventory.
    let (code, _, err) = with_set(&["show", &block.ip(2).to_string()]).run();
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn a_closed_pipe_ends_metal_quietly_with_zero() {
    let block = Block::allocate();
    let metal = Metal::new(BIN).password(RACK_B);
    let _sim = SimProcess::builder(BIN, RACK_B, block.first()).start();
    let (code, doc) = metal.json(&["enroll", &block.first().to_string(), "--rack", "rp"]);
    assert_eq!(code, 0, "{doc}");
    add_events(&metal.db_url(), 10_000);
    let (code, out, _) = metal.run(&["events"]);
    assert_eq!(code, 0);
    assert!(out.lines().count() > 10_000);

    let errors = metal.dir().join("stderr.txt");
    let pipeline = format!(
        "{bin} events 2>{err} | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
        bin = BIN,
        err = errors.display()
    );
    let out = metal.command(["--version"]).into_command();
    let envs: Vec<(String, String)> = out
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    let shell = Command::new("bash")
        .args(["-c", &pipeline])
        .envs(envs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shell.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("rp-h01"), "{text}");
    assert!(text.contains("status=0"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&errors).unwrap(),
        "",
        "nothing on stderr"
    );
}

/// Appends `n` notes to the event log in one statement.
fn add_events(url: &str, n: u32) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(url).await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO events (at_ms, subject, actor, reason) \
                 SELECT i, 'rp-h01', 'test', 'note ' || i FROM n",
            )
            .bind(i64::from(n))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        });
}

/// A board whose TLS certificate changed (re-provisioned): refused until `--repin`, which
/// records the new pin in the inventory with an event, so the next call needs no flag; and
/// re-enrolment refuses the change unless `--repin` is given.
#[test]
fn repin_records_the_new_pin_in_the_inventory() {
    let block = Block::allocate();
    let metal = Metal::new(BIN).password(RACK_B);
    let tls_sim = || {
        SimProcess::builder(BIN, RACK_B, block.first())
            .boards(1)
            .args(["--quiet", "--tls"])
            .start()
    };
    let sim = tls_sim();
    let (code, out, err) = metal.run(&["--tls", "enroll", &block.list(1), "--rack", "tl"]);
    assert_eq!(code, 0, "{out}{err}");
    let host = metal.machines()[0]["hostname"]
        .as_str()
        .unwrap()
        .to_string();
    let pin_of = || metal.machines()[0]["tls_pin"].as_str().map(str::to_string);
    let first_pin = pin_of().expect("pin recorded at enrolment");
    drop(sim);
    // A new simulator process: the same board, a new certificate.
    let _sim = tls_sim();
    let (code, doc) = metal.json(&["--tls", "power", "status", &host]);
    assert_eq!(code, 3, "a changed certificate is refused: {doc}");
    let (code, doc) = metal.json(&["--tls", "enroll", &block.list(1), "--rack", "tl"]);
    assert_eq!(code, 3, "re-enrolment refuses it too: {doc}");
    assert!(doc.to_string().contains("TLS certificate changed"), "{doc}");

    let (code, doc) = metal.json(&["--tls", "--repin", "power", "status", &host]);
    assert_eq!(code, 0, "{doc}");
    let second_pin = pin_of().unwrap();
    assert_ne!(second_pin, first_pin, "the inventory holds the new pin");
    let (code, doc) = metal.json(&["--tls", "power", "status", &host]);
    assert_eq!(code, 0, "no --repin needed any more: {doc}");
    let (_, events, _) = metal.run(&["events", &host]);
    assert!(
        events.contains(&format!("sha256 {first_pin} -> sha256 {second_pin}")),
        "{events}"
    );
    let (code, out, _) = metal.run(&["--tls", "enroll", &block.list(1), "--rack", "tl"]);
    assert_eq!(code, 0, "{out}");
}
