//! The recovery ladder (`metal watch`) against simulated boards, in a network namespace of the
//! test's own (root): the simulator's boards on its loopback, one rack whose Dom0 addresses
//! are on that loopback too (they answer ping: alive) and one whose addresses lead nowhere
//! (no route: their agents and pings fail, like hung machines). A board whose AMT hangs (the
//! simulator's `hang` fault) cannot even be cycled. Checked: cycles come within the configured
//! time, never more than the limit, one rack is not cycled twice within the spacing, boards
//! cycles do not bring back are marked broken, a dry run changes nothing, and every rung is in
//! `metal events`. And `metal check`, the Nagios plugin, on the same boards: its status line,
//! perfdata and exit codes.

use std::process::Command;

use metal_test_support::metal::Metal;
use metal_test_support::process::Running;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Watch-Passw0rd!";

/// A network namespace with its loopback up, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("mw-{tag}-{}", std::process::id());
        let ip = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .expect("ip")
                .success();
            assert!(ok, "ip {args:?}");
        };
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

struct Rack {
    metal: Metal,
    sim: Option<Running>,
    _ns: Netns,
    boards: String,
}

fn sim(metal: &Metal, boards: &str, faults: &[&str]) -> Running {
    let mut args = vec![
        "sim",
        "--password",
        PASSWORD,
        "--boards",
        boards,
        "--first-ip",
        "127.0.0.1",
        "--transition-ms",
        "100",
        "--quiet",
    ];
    for f in faults {
        args.extend(["--fault", f]);
    }
    let sim = Running::spawn(metal.command(&args).into_command(), "metal sim");
    sim.wait_for(|l| l.starts_with("ready "));
    sim
}

impl Rack {
    /// The same boards again (same identities), with `faults`.
    fn restart_sim(&mut self, faults: &[&str]) {
        self.sim = None;
        self.sim = Some(sim(&self.metal, &self.boards, faults));
    }
}

/// Boards 127.0.0.1 (rack `live`, pool on the loopback) and 127.0.0.2.. (rack `dead`, pool
/// 10.62.0.0/24 with no route), all deployed; `faults` are `metal sim --fault` values.
fn rack(tag: &str, dead: u32) -> Rack {
    let ns = Netns::new(tag);
    let metal = Metal::new(BIN).password(PASSWORD).netns(&ns.0);
    let boards = (1 + dead).to_string();
    let sim = sim(&metal, &boards, &[]);
    let (code, doc) = metal.json(&[
        "enroll",
        "127.0.0.1",
        "--rack",
        "live",
        "--pool",
        "127.0.60.0/24",
    ]);
    assert_eq!(code, 0, "{doc}");
    let dead_list: Vec<String> = (2..=1 + dead).map(|n| format!("127.0.0.{n}")).collect();
    let (code, doc) = metal.json(&[
        "enroll",
        &dead_list.join(","),
        "--rack",
        "dead",
        "--pool",
        "10.62.0.0/24",
    ]);
    assert_eq!(code, 0, "{doc}");
    let hosts: Vec<String> = std::iter::once("live-h01".to_string())
        .chain((1..=dead).map(|n| format!("dead-h{n:02}")))
        .collect();
    for state in ["provisioning", "deployed"] {
        let mut args = vec!["state", state];
        args.extend(hosts.iter().map(String::as_str));
        args.extend(["--reason", "the test deploys it"]);
        let (code, out, err) = metal.run(&args);
        assert_eq!(code, 0, "{out}{err}");
    }
    Rack {
        metal,
        sim: Some(sim),
        _ns: ns,
        boards,
    }
}

fn watch(r: &Rack, flags: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--connect-timeout",
        "1",
        "--read-timeout",
        "1",
        "watch",
        "--interval",
        "0.3",
        "--down-after",
        "1",
        "--boot-grace",
        "1",
    ];
    args.extend_from_slice(flags);
    let (code, out, err) = r.metal.run(&args);
    assert_eq!(code, 0, "{out}{err}");
    out.lines().skip(1).map(str::to_string).collect()
}

/// The events `metal watch` logged about `host`.
fn rungs(r: &Rack, host: &str) -> Vec<String> {
    let (code, doc) = r.metal.json(&["events", host]);
    assert_eq!(code, 0, "{doc}");
    doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "metal watch")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect()
}

fn state(r: &Rack, host: &str) -> String {
    let (_, doc) = r.metal.json(&["ls", host]);
    doc["machines"][0]["state"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

fn power(r: &Rack, host: &str) -> Value {
    let (_, doc) = r.metal.json(&["power", "status", host]);
    doc["hosts"][0]["power"].clone()
}

#[test]
fn a_dry_run_reports_what_it_would_do_and_does_nothing() {
    let r = rack("dry", 2);
    // Power the dead boards off: a real cycle would turn them on.
    for h in ["dead-h01", "dead-h02"] {
        let (code, doc) = r.metal.json(&["power", "off", h]);
        assert_eq!(code, 0, "{doc}");
    }
    let lines = watch(
        &r,
        &[
            "--dry-run",
            "--max-cycles",
            "5",
            "--broken-after",
            "5",
            "--rack-spacing",
            "0",
            "--stop-after",
            "4",
        ],
    );
    assert!(
        lines.iter().any(|l| l.starts_with("would-cycle dead-h01:")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains("live-h01")), "{lines:#?}");
    for h in ["dead-h01", "dead-h02"] {
        let logged = rungs(&r, h);
        assert!(
            !logged.is_empty() && logged.iter().all(|e| e.starts_with("dry run: ")),
            "{h}: {logged:#?}"
        );
        assert!(
            logged[0].contains("would power cycle: down for"),
            "{logged:#?}"
        );
        assert_eq!(power(&r, h), "off", "{h} was touched in a dry run");
        assert_eq!(state(&r, h), "deployed");
    }
    assert!(rungs(&r, "live-h01").is_empty());
}

#[test]
fn hung_boards_are_cycled_up_to_the_limit_then_marked_broken() {
    // After enrolment dead-h03's AMT hangs too: its cycles fail, and count.
    let mut r = rack("broken", 3);
    r.restart_sim(&["127.0.0.4=hang"]);
    let started = std::time::Instant::now();
    let lines = watch(
        &r,
        &[
            "--max-cycles",
            "2",
            "--window",
            "3600",
            "--broken-after",
            "2",
            "--rack-spacing",
            "0",
            "--stop-after",
            "12",
        ],
    );
    for h in ["dead-h01", "dead-h02", "dead-h03"] {
        let logged = rungs(&r, h);
        let cycles: Vec<&String> = logged
            .iter()
            .filter(|e| e.starts_with("power cycle: ") && e.contains("(down for"))
            .collect();
        let failed: Vec<&String> = logged
            .iter()
            .filter(|e| e.starts_with("power cycle failed"))
            .collect();
        assert_eq!(
            cycles.len() + failed.len(),
            2,
            "{h}: never more than the limit: {logged:#?}"
        );
        assert_eq!(state(&r, h), "broken", "{h}: {logged:#?}");
        let (_, doc) = r.metal.json(&["events", h]);
        let last = doc["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["to"], "broken", "{last}");
        assert!(
            last["reason"]
                .as_str()
                .unwrap()
                .contains("2 power cycle(s) did not bring it back"),
            "{last}"
        );
    }
    let hung = rungs(&r, "dead-h03");
    assert!(
        hung.iter().all(|e| !e.starts_with("power cycle: ")),
        "a hung AMT cannot have been cycled: {hung:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("broken dead-h01:")),
        "{lines:#?}"
    );
    assert!(
        rungs(&r, "live-h01").is_empty(),
        "a live machine was touched"
    );
    assert_eq!(state(&r, "live-h01"), "deployed");
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn one_rack_is_not_cycled_twice_within_the_spacing_and_the_limit_holds() {
    let r = rack("spacing", 2);
    let lines = watch(
        &r,
        &[
            "--max-cycles",
            "1",
            "--broken-after",
            "5",
            "--rack-spacing",
            "60",
            "--stop-after",
            "5",
        ],
    );
    let cycled: Vec<&str> = ["dead-h01", "dead-h02"]
        .into_iter()
        .filter(|h| {
            rungs(&r, h)
                .iter()
                .any(|e| e.starts_with("power cycle: ") && e.contains("(down for"))
        })
        .collect();
    assert_eq!(cycled.len(), 1, "exactly one board of the rack: {lines:#?}");
    let other = if cycled[0] == "dead-h01" {
        "dead-h02"
    } else {
        "dead-h01"
    };
    let waiting = rungs(&r, other);
    assert!(
        waiting
            .iter()
            .any(|e| e.contains("another board of rack dead was cycled")),
        "{waiting:#?}"
    );
    // The cycled one had its one cycle: after its boot grace it is held, reported once.
    let logged = rungs(&r, cycled[0]);
    assert_eq!(
        logged
            .iter()
            .filter(|e| e.contains("power cycle(s) in the last 3600 s"))
            .count(),
        1,
        "{logged:#?}"
    );
    assert_eq!(
        logged
            .iter()
            .filter(|e| e.starts_with("power cycle"))
            .count(),
        1,
        "{logged:#?}"
    );
    assert_eq!(power(&r, cycled[0]), "on");
}

fn check(r: &Rack, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let (code, out, err) = r.metal.run(&all);
    assert_eq!(out.lines().count(), 1, "one status line: {out}{err}");
    (code, out.trim_end().to_string())
}

#[test]
fn metal_check_answers_in_the_nagios_plugin_format() {
    let mut r = rack("check", 2);
    // Deployed, AMT answers, power on, but no agent: CRITICAL.
    let (code, line) = check(&r, &["live-h01"]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("METAL CRITICAL - live-h01: AMT answers, power on, agent: "),
        "{line}"
    );
    let perf = line
        .split_once(" | ")
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no perfdata: {line}"));
    let labels: Vec<&str> = perf
        .split(' ')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(labels, ["amt", "agent"], "{perf}");
    for p in perf.split(' ') {
        let (_, v) = p.split_once('=').unwrap();
        let fields: Vec<&str> = v.split(';').collect();
        assert_eq!(fields.len(), 4, "value;warn;crit;min: {p}");
        assert!(
            fields[0].ends_with('s') && fields[0].trim_end_matches('s').parse::<f64>().is_ok(),
            "{p}"
        );
        assert_eq!(&fields[1..], ["2", "10", "0"], "{p}");
    }
    // Taken out of service: no agent is expected, AMT and power are all there is.
    let (code, out, err) = r
        .metal
        .run(&["state", "broken", "live-h01", "--reason", "test"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, line) = check(&r, &["live-h01"]);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with(
            "METAL OK - live-h01: AMT answers, power on, broken, so no agent expected | amt="
        ),
        "{line}"
    );
    // Slower than the warning threshold: WARNING.
    let (code, line) = check(&r, &["live-h01", "--warning", "0.000001"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("METAL WARNING - "), "{line}");
    // A deployed machine whose power is off: CRITICAL, and it says so.
    let (code, doc) = r.metal.json(&["power", "off", "dead-h01"]);
    assert_eq!(code, 0, "{doc}");
    let (code, line) = check(&r, &["dead-h01"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("AMT answers, power off"), "{line}");
    // Not in the inventory: UNKNOWN.
    let (code, line) = check(&r, &["nosuch"]);
    assert_eq!(
        (code, line.as_str()),
        (
            3,
            "METAL UNKNOWN - nosuch: neither a board nor a guest in the inventory"
        )
    );
    // An AMT that hangs: CRITICAL within the critical threshold.
    r.restart_sim(&["127.0.0.3=hang"]);
    let started = std::time::Instant::now();
    let (code, line) = check(&r, &["dead-h02", "--critical", "2"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("METAL CRITICAL - dead-h02: AMT"), "{line}");
    assert!(started.elapsed().as_secs() < 8, "{:?}", started.elapsed());
}
