//! DomUs on Dom0s the bring-up flow deployed: two `metal sim --qemu` boards enrolled and
//! netbooted into diskless Dom0s (a blank disk each becomes `vg00`), each Dom0's `metal-agent`
//! certified at deployment; then `metal vm create` (placed by the agents' load), a guest that
//! boots Debian under `xl` and answers at its address, and `metal vm migrate` to the other
//! Dom0, where it boots again. Then the operations side on the same Dom0s: `metal check`,
//! the dashboard's load from the agents, and the watchdog power-cycling a Dom0 that hangs.
//! Nothing here is simulated below AMT: the Dom0s, `xl`, LVM and the guest are real.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use metal_test_support::metal::Metal;

use crate::dom0::{DOM0_BOOT, config, images};
use crate::flow::{Board, PASSWORD, machine, settle, start_sim};
use crate::lab::{self, Lab, wait_for, wait_unless};

/// Diskless Dom0 boards with one blank disk for guest volumes.
const PROFILE: (&str, &str) = (
    "qemu-dom0-guests",
    "description = \"QEMU board, 1 GiB, one disk for guests\"\n[match]\nmemory_gib = 1\ndisks = 1\n\
     [provision]\nstorage = \"diskless\"\ndom0_memory_mib = 512\nrole = \"compute\"\nnetboot = \"dom0-diskless-guests\"\n",
);

const A: Board = Board {
    amt: "127.0.31.1",
    disks: "1x2G",
    firmware: "bios",
};
const B: Board = Board {
    amt: "127.0.31.2",
    disks: "1x2G",
    firmware: "bios",
};

const GUEST: &str = "web1";
const GUEST_IP: &str = "10.99.0.60";
/// A PV guest under Xen under TCG: the kernel, then systemd to a login prompt.
const GUEST_BOOT: Duration = Duration::from_secs(300);

/// Polls `metal vm console` until `needle` shows (or the time is up); the console text.
fn console_until(metal: &Metal, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        let (code, out, err) = metal.run(&["vm", "console", GUEST, "--bytes", "200000"]);
        if code == 0 && out.contains(needle) {
            return out;
        }
        last = format!("{out}{err}");
        std::thread::sleep(Duration::from_secs(3));
    }
    panic!("no {needle:?} on {GUEST}'s console after {timeout:?}:\n{last}");
}

/// Whether the guest answers ICMP echo at its address from the lab's namespace.
fn answers(lab: &Lab) -> bool {
    (0..20).any(|_| {
        let ok = lab
            .exec("ping")
            .args(["-c", "1", "-W", "2", GUEST_IP])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            std::thread::sleep(Duration::from_secs(2));
        }
        ok
    })
}

fn export(metal: &Metal, what: &[&str]) -> String {
    let (code, out, err) = metal.run(what);
    assert_eq!(code, 0, "{what:?}: {out}{err}");
    out
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn n_vm_create_places_a_debian_guest_that_answers_and_migrate_moves_it_running() {
    lab::require_root();
    let images = images();
    let mut lab = Lab::new("n");
    let profiles = lab.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join(format!("{}.toml", PROFILE.0)), PROFILE.1).unwrap();
    let metal = Metal::new(env!("CARGO_BIN_EXE_metal"))
        .password(PASSWORD)
        .netns(&lab.ns)
        .profiles(&profiles);
    let netboot = lab.dir.path().join("netboot.toml");
    std::fs::write(&netboot, config(&lab, "")).unwrap();
    lab.advertise_router();
    let mut serve = metal
        .command(["serve", "--inventory", "--config"])
        .into_command();
    serve.arg(&netboot).env("METAL_LOG", "metal_netboot=info");
    let server = lab.spawn("metal-serve", serve);
    wait_for(&server, "ready ", Duration::from_secs(20)).expect("metal serve did not start");
    for (seed, board) in [&A, &B].into_iter().enumerate() {
        start_sim(&mut lab, &metal, board, 10 + seed);
    }
    let consoles: PathBuf = lab.dir.path().join("consoles");
    let mut record = metal
        .command(["console", "--record", "127.0.31.1,127.0.31.2", "--dir"])
        .into_command();
    record.arg(&consoles);
    lab.spawn("console-record", record);
    let console = |b: &Board| consoles.join(format!("{}.log", b.amt));
    for b in [&A, &B] {
        wait_for(&console(b), "SOL session 1 opened", Duration::from_secs(20))
            .expect("the console recording did not start");
    }

    let (code, out, err) = metal.run(&[
        "enroll",
        "127.0.31.0/30",
        "--rack",
        "v01",
        "--pool",
        "10.99.0.32/27",
        "--boot",
    ]);
    assert_eq!(code, 0, "enroll --boot: {out}{err}");
    settle(&metal, 2 * DOM0_BOOT);
    let mut hosts = Vec::new();
    for b in [&A, &B] {
        let m = machine(&metal, b.amt);
        assert_eq!(m["state"], "deployed", "{m}");
        wait_unless(&console(b), "METAL-READY", "METAL-FAILED", DOM0_BOOT).unwrap();
        let text = lab::read_lossy(&console(b));
        assert!(
            text.contains("METAL-GUEST-VG vg00 on /dev/vda"),
            "the blank disk became vg00"
        );
        assert!(
            text.contains("METAL-AGENT serving on port 7443"),
            "the agent got its certificate: {text}"
        );
        hosts.push(m["hostname"].as_str().unwrap().to_string());
    }

    // The guest takes the Dom0's segment (its /24 and default gateway, from DHCP), not the
    // rack's allocation pool (a /27 inside it).
    // Placement weighs both Dom0s (both idle: the one with more free memory, or by name).
    let started = Instant::now();
    let image = images.join("domu-root.ext4");
    let (code, out, err) = metal.run(&[
        "vm",
        "create",
        "-h",
        GUEST,
        "-i",
        GUEST_IP,
        "-m",
        "256",
        "-s",
        "1",
        "--explain",
        "--image",
        image.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "vm create: {out}{err}");
    eprintln!("(n) vm create: {:.1?}\n{out}", started.elapsed());
    for h in &hosts {
        assert!(out.contains(&format!("  {h}: ")), "{h} weighed: {out}");
    }
    assert!(out.contains(": chosen, score "), "{out}");
    let (_, ls) = metal.json(&["vm", "ls"]);
    let first = ls["guests"][0]["dom0"].as_str().unwrap().to_string();
    let other = hosts.iter().find(|h| **h != first).unwrap().clone();
    assert!(
        out.contains(&format!("created {GUEST} on {first} at {GUEST_IP}")),
        "{out}"
    );
    assert_eq!(ls["guests"][0]["state"], "running", "{ls}");

    let text = console_until(&metal, "login:", GUEST_BOOT);
    assert!(
        text.contains("metal guest: root /dev/xvda mounted"),
        "{text}"
    );
    let up = console_until(&metal, "METAL-GUEST-UP", Duration::from_secs(60));
    assert!(
        up.contains(&format!("METAL-GUEST-UP {GUEST} ")) && up.contains(&format!("{GUEST_IP}/24")),
        "its hostname and address on the console: {up}"
    );
    eprintln!("(n) guest up on {first}: {:.1?}", started.elapsed());
    assert!(
        answers(&lab),
        "{GUEST} does not answer at {GUEST_IP}:\n{up}"
    );

    // The inventory, the zone and Nagios have it under its Dom0.
    let zone = export(&metal, &["export", "dns", "--zone", "lab.test"]);
    assert!(
        zone.contains(&format!("parent.{GUEST}")) && zone.contains(&format!("{first}.lab.test.")),
        "{zone}"
    );
    let nagios = export(&metal, &["export", "nagios"]);
    let block = nagios
        .split("define host")
        .find(|b| b.contains(&format!("host_name       {GUEST}")))
        .unwrap_or_else(|| panic!("no host {GUEST}: {nagios}"));
    assert!(
        block.contains(&format!("parents         {first}")),
        "{block}"
    );
    assert!(block.contains("check_command   check_metal"), "{block}");
    assert!(
        nagios.contains(&format!(
            "host_name                       {first}\n    dependent_host_name             {GUEST}\n"
        )),
        "{GUEST} depends on {first}: {nagios}"
    );

    // The Nagios plugin on the real Dom0 and guest: AMT, power and the agent's answer.
    let (code, out, err) = metal.run(&["check", &first]);
    assert_eq!(code, 0, "metal check {first}: {out}{err}");
    assert!(
        out.starts_with(&format!(
            "METAL OK - {first}: AMT answers, power on, agent answered in "
        )),
        "{out}"
    );
    let (code, out, err) = metal.run(&["check", GUEST]);
    assert_eq!(code, 0, "metal check {GUEST}: {out}{err}");
    assert!(
        out.starts_with(&format!("METAL OK - {GUEST}: running on {first}")),
        "{out}"
    );

    // The dashboard shows the Dom0's and the guest's load as the agent measures it.
    let board = dashboard_board(&mut lab, &metal, &first);
    let load = &board["load"];
    assert!(
        load["memory_total_mib"].as_u64().unwrap_or(0) > 0,
        "{board:#}"
    );
    assert!(
        load["cpu_busy"]
            .as_f64()
            .is_some_and(|c| (0.0..=1.0).contains(&c)),
        "{board:#}"
    );
    let guest = &board["guests"][0];
    assert_eq!(guest["name"], GUEST, "{board:#}");
    assert!(
        guest["load"]["memory_mib"].as_u64().unwrap_or(0) >= 256,
        "{board:#}"
    );
    lab.stop("metal-web");

    // A target without room: another guest there leaves its vg00 less than web1's 1 GiB. The
    // move is refused before anything is streamed; web1 runs on where it was.
    let (code, out, err) = metal.run(&[
        "vm",
        "create",
        "-h",
        "filler",
        "-i",
        "10.99.0.61",
        "-m",
        "128",
        "-s",
        "1",
        "--on",
        &other,
        "--image",
        image.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "vm create filler: {out}{err}");
    let (code, out, err) = metal.run(&["vm", "migrate", GUEST, "--to", &other]);
    assert_eq!(code, 3, "a move to a full Dom0: {out}{err}");
    assert!(
        err.contains(&format!("It stays on {first}"))
            && err.contains("has")
            && err.contains("free"),
        "{err}"
    );
    let (_, ls) = metal.json(&["vm", "ls"]);
    let web1 = ls["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == GUEST)
        .unwrap()
        .clone();
    assert_eq!(web1["dom0"], first.as_str(), "{ls}");
    assert_eq!(web1["state"], "running", "{ls}");
    assert!(
        answers(&lab),
        "{GUEST} stopped answering after the refused move"
    );
    let (code, out, err) = metal.run(&["vm", "destroy", "filler"]);
    assert_eq!(code, 0, "vm destroy filler: {out}{err}");

    // The move: full pass while it runs, delta once stopped, started on the other Dom0.
    let started = Instant::now();
    let (code, out, err) = metal.run(&["vm", "migrate", GUEST, "--to", &other]);
    assert_eq!(code, 0, "vm migrate: {out}{err}");
    eprintln!("(n) vm migrate: {:.1?}\n{out}", started.elapsed());
    assert!(
        out.contains(&format!("moved {GUEST} from {first} to {other}")),
        "{out}"
    );
    let (_, ls) = metal.json(&["vm", "ls"]);
    assert_eq!(ls["guests"][0]["dom0"], other.as_str(), "{ls}");
    assert_eq!(ls["guests"][0]["state"], "running", "{ls}");
    let text = console_until(&metal, "METAL-GUEST-UP", GUEST_BOOT);
    assert!(
        text.contains("metal guest: root /dev/xvda mounted"),
        "{text}"
    );
    assert!(
        answers(&lab),
        "{GUEST} does not answer at {GUEST_IP} after the move:\n{text}"
    );
    let nagios = export(&metal, &["export", "nagios"]);
    let block = nagios
        .split("define host")
        .find(|b| b.contains(&format!("host_name       {GUEST}")))
        .unwrap();
    assert!(
        block.contains(&format!("parents         {other}")),
        "{block}"
    );
    eprintln!("(n) guest up on {other}: {:.1?}", started.elapsed());

    let (code, out, err) = metal.run(&["vm", "destroy", GUEST]);
    assert_eq!(code, 0, "vm destroy: {out}{err}");
    let (_, ls) = metal.json(&["vm", "ls"]);
    assert_eq!(ls["guests"].as_array().map(Vec::len), Some(0), "{ls}");

    // The recovery ladder: both Dom0s answer, so nothing happens. Then one hangs for real
    // (its QEMU process stopped with SIGSTOP: no CPU, no agent, no ping); the watchdog
    // power-cycles it over AMT, and the Dom0 netboots again and answers.
    let quiet = metal.run(&[
        "watch",
        "--interval",
        "2",
        "--down-after",
        "6",
        "--stop-after",
        "8",
    ]);
    assert_eq!(quiet.0, 0, "{quiet:?}");
    assert_eq!(
        quiet.1.lines().count(),
        1,
        "healthy Dom0s, no rungs: {}",
        quiet.1
    );
    let hung = [&A, &B]
        .into_iter()
        .find(|b| machine(&metal, b.amt)["hostname"] == first.as_str())
        .unwrap();
    let sim = lab
        .pid(&format!("sim-{}", hung.amt))
        .expect("the simulator's PID");
    let qemu = String::from_utf8(
        Command::new("pgrep")
            .args(["-P", &sim.to_string(), "qemu"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let qemu = qemu
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no QEMU under {sim}"))
        .to_string();
    let before = lab::read_lossy(&console(hung))
        .matches("METAL-AGENT serving")
        .count();
    assert!(
        Command::new("kill")
            .args(["-STOP", &qemu])
            .status()
            .unwrap()
            .success()
    );
    let frozen = Instant::now();
    let mut watch = metal
        .command([
            "watch",
            "--interval",
            "2",
            "--down-after",
            "10",
            "--boot-grace",
            "300",
            "--max-cycles",
            "1",
            "--rack-spacing",
            "0",
        ])
        .into_command();
    watch.env("METAL_LOG", "warn");
    let watch_log = lab.spawn("metal-watch", watch);
    wait_for(
        &watch_log,
        &format!("power-cycle {first}:"),
        Duration::from_secs(90),
    )
    .unwrap_or_else(|e| panic!("no power cycle: {e}\n{}", lab::read_lossy(&watch_log)));
    eprintln!(
        "(n) {first} frozen; power-cycled after {:.1?}",
        frozen.elapsed()
    );
    // The console recording holds a SOL session on the board, so AMT refuses the cycle and
    // the ladder resets it instead.
    let line = lab::read_lossy(&watch_log);
    assert!(
        line.contains("power cycle: on -> on (down for")
            || line.contains("reset instead: on -> on (down for"),
        "{line}"
    );
    assert!(line.contains("ping: no echo reply"), "{line}");
    wait_for(
        &watch_log,
        &format!("recovered {first}: answers again after 1 power cycle"),
        DOM0_BOOT + Duration::from_secs(60),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{first} did not come back: {e}\n{}",
            lab::read_lossy(&watch_log)
        )
    });
    eprintln!("(n) {first} answers again after {:.1?}", frozen.elapsed());
    lab.terminate("metal-watch", Duration::from_secs(5));
    // It answers ping once its network is up; its agent follows a little later.
    let serving = Instant::now();
    while lab::read_lossy(&console(hung))
        .matches("METAL-AGENT serving")
        .count()
        <= before
    {
        assert!(
            serving.elapsed() < Duration::from_secs(180),
            "the Dom0 booted again but its agent does not serve:\n{}",
            lab::read_lossy(&console(hung))
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let (_, doc) = metal.json(&["events", &first]);
    let rungs: Vec<&str> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "metal watch")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        rungs
            .iter()
            .any(|r| r.starts_with("power cycle: on -> on")
                || r.starts_with("power reset: on -> on")),
        "the cycle (or the reset AMT took instead): {rungs:#?}"
    );
    assert!(
        rungs
            .last()
            .is_some_and(|r| r.contains("answers again after 1 power cycle")),
        "{rungs:#?}"
    );
    assert_eq!(machine(&metal, hung.amt)["state"], "deployed");
    // Just booted under TCG, its agent may answer slower than the 2 s warning: OK or
    // WARNING, never CRITICAL.
    // (The console line comes as the agent starts; give it a moment to accept connections.)
    let checking = Instant::now();
    loop {
        let (code, out, _) = metal.run(&["check", &first]);
        if code <= 1 && out.contains("agent answered in") {
            break;
        }
        assert!(checking.elapsed() < Duration::from_secs(90), "{out}");
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// `GET /api/machines/HOST` from `metal web` in the lab's namespace, once the Dom0's load is
/// known (the poller asks every 2 s).
fn dashboard_board(lab: &mut Lab, metal: &Metal, host: &str) -> serde_json::Value {
    let web = metal
        .command([
            "web",
            "--listen",
            "127.0.0.1:18088",
            "--open",
            "127.0.0.0/8",
            "--load-interval",
            "2",
        ])
        .into_command();
    let log = lab.spawn("metal-web", web);
    wait_for(&log, "ready web=", Duration::from_secs(20)).expect("metal web did not start");
    let fetch = format!(
        "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:18088/api/machines/{host}', timeout=10).read().decode())"
    );
    let start = Instant::now();
    loop {
        let out = lab.exec("python3").args(["-c", &fetch]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if !doc["load"].is_null() && !doc["guests"][0]["load"].is_null() {
            return doc;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no load on the dashboard: {doc:#} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}
