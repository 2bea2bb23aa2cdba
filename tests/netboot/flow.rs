//! The whole bring-up as an operator runs it: `metal sim --qemu` boards (AMT in front, a QEMU
//! VM behind), `metal serve --inventory`, then `metal enroll CIDR --rack R --boot`. Every
//! board ends deployed with its next boot from disk set over AMT; the assertions read the
//! VMs' own serial output, recorded over SOL by `metal console --record`, the inventory, the
//! events and the exports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use metal_test_support::metal::Metal;

use crate::dom0::{DOM0_BOOT, config, images};
use crate::lab::{self, Lab, wait_for, wait_unless};

pub const PASSWORD: &str = "Fl0w-P@ss";

/// Hardware profiles for 1 GiB QEMU boards, one per storage layout, naming the netboot
/// profiles of [`config`].
pub const PROFILES: [(&str, &str); 3] = [
    (
        "qemu-raid10",
        "description = \"QEMU board, 1 GiB, four disks\"\n[match]\nmemory_gib = 1\ndisks = 4\ndisk_kind = \"hdd\"\n\
         [provision]\nstorage = \"raid10\"\ndom0_memory_mib = 512\nroot_gib = 3\nrole = \"storage\"\nnetboot = \"install-raid10\"\n",
    ),
    (
        "qemu-raid0",
        "description = \"QEMU board, 1 GiB, two SSDs\"\n[match]\nmemory_gib = 1\ndisks = 2\ndisk_kind = \"ssd\"\n\
         [provision]\nstorage = \"ssd-raid0\"\ndom0_memory_mib = 512\nrole = \"compute\"\nnetboot = \"install-raid0\"\n",
    ),
    (
        "qemu-diskless",
        "description = \"QEMU board, 1 GiB, no disks\"\n[match]\nmemory_gib = 1\ndisks = 0\n\
         [provision]\nstorage = \"diskless\"\ndom0_memory_mib = 512\nrole = \"compute\"\nnetboot = \"dom0-diskless\"\n",
    ),
];

/// One simulated board: its AMT address, disks and firmware.
pub struct Board {
    pub amt: &'static str,
    pub disks: &'static str,
    pub firmware: &'static str,
}

pub const RAID10: Board = Board {
    amt: "127.0.30.1",
    disks: "4x3G",
    firmware: "bios",
};
const RAID0: Board = Board {
    amt: "127.0.30.2",
    disks: "2x3G:ssd",
    firmware: "uefi",
};
const DISKLESS: Board = Board {
    amt: "127.0.30.3",
    disks: "0",
    firmware: "bios",
};

/// `metal sim --qemu` with one `board` (identities from `seed`, disks under the lab's `vms/`),
/// started as `sim-<AMT address>`; returns its log once it is ready.
pub fn start_sim(lab: &mut Lab, metal: &Metal, board: &Board, seed: usize) -> PathBuf {
    let mut sim = metal
        .command([
            "sim", "--qemu", "--bridge", "br0", "--boards", "1", "--quiet",
        ])
        .into_command();
    sim.args(["--first-ip", board.amt, "--disks", board.disks])
        .args(["--seed", &seed.to_string()])
        .args(["--firmware", board.firmware, "--memory", "1024"])
        .arg("--dir")
        .arg(lab.dir.path().join("vms"));
    let log = lab.spawn(&format!("sim-{}", board.amt), sim);
    wait_for(&log, "ready ", Duration::from_secs(20)).expect("metal sim did not start");
    log
}

/// The lines of a `metal console --record` file without their time stamps.
fn recorded(file: &Path) -> String {
    lab::read_lossy(file)
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The inventory's record of the machine whose AMT interface is `amt`.
pub fn machine(metal: &Metal, amt: &str) -> serde_json::Value {
    metal
        .machines()
        .into_iter()
        .find(|m| m["amt_address"] == amt)
        .unwrap_or_else(|| panic!("no machine at {amt}"))
}

/// Waits until no machine is provisioning any more (or `timeout` passes).
pub fn settle(metal: &Metal, timeout: Duration) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let states: Vec<String> = metal
            .machines()
            .iter()
            .map(|m| m["state"].as_str().unwrap_or_default().to_string())
            .collect();
        if !states
            .iter()
            .any(|s| s == "provisioning" || s == "enrolled")
        {
            return;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("still provisioning after {timeout:?}");
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn l_enroll_boot_brings_qemu_boards_to_deployed_dom0_hosts() {
    lab::require_root();
    images();
    let mut lab = Lab::new("l");
    let profiles = lab.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    for (name, text) in PROFILES {
        std::fs::write(profiles.join(format!("{name}.toml")), text).unwrap();
    }
    let metal = Metal::new(env!("CARGO_BIN_EXE_metal"))
        .password(PASSWORD)
        .netns(&lab.ns)
        .profiles(&profiles);
    let bin = |args: &[&str]| metal.command(args).into_command();

    let netboot = lab.dir.path().join("netboot.toml");
    std::fs::write(&netboot, config(&lab, "")).unwrap();
    lab.advertise_router();
    let mut serve = bin(&["serve", "--inventory", "--config"]);
    serve.arg(&netboot).env("METAL_LOG", "metal_netboot=info");
    let server = lab.spawn("metal-serve", serve);
    wait_for(&server, "ready ", Duration::from_secs(20)).expect("metal serve did not start");

    let mut sims: Vec<(&Board, PathBuf)> = Vec::new();
    for (seed, board) in [&RAID10, &RAID0, &DISKLESS].into_iter().enumerate() {
        let log = start_sim(&mut lab, &metal, board, seed);
        sims.push((board, log));
    }
    // The consoles are recorded from before the first power-on.
    let consoles = lab.dir.path().join("consoles");
    let mut record = bin(&[
        "console",
        "--record",
        "127.0.30.1,127.0.30.2,127.0.30.3",
        "--dir",
    ]);
    record.arg(&consoles);
    lab.spawn("console-record", record);
    let console = |board: &Board| consoles.join(format!("{}.log", board.amt));
    for board in [&RAID10, &RAID0, &DISKLESS] {
        wait_for(
            &console(board),
            "SOL session 1 opened",
            Duration::from_secs(20),
        )
        .expect("the console recording did not start");
    }

    let started = Instant::now();
    let (code, out, err) = metal.run(&[
        "enroll",
        "127.0.30.0/29",
        "--rack",
        "q01",
        "--pool",
        "10.99.0.32/27",
        "--boot",
    ]);
    assert_eq!(code, 0, "enroll --boot: {out}{err}");
    for board in [&RAID10, &RAID0, &DISKLESS] {
        let m = machine(&metal, board.amt);
        assert_eq!(m["state"], "provisioning", "{m}");
    }
    settle(&metal, 3 * DOM0_BOOT);
    eprintln!(
        "(l) enroll --boot to every board settled: {:.1?}",
        started.elapsed()
    );
    for board in [&RAID10, &RAID0, &DISKLESS] {
        let m = machine(&metal, board.amt);
        assert_eq!(m["state"], "deployed", "{m}");
    }

    // The installed boards rebooted from their disks because AMT was told so.
    let serve_log = lab::read_lossy(&server);
    for (board, sim_log) in &sims[..2] {
        let m = machine(&metal, board.amt);
        let host = m["hostname"].as_str().unwrap();
        assert!(
            serve_log.contains(&format!(
                "inventory: {host} is deployed; {host}: next boot set to disk over AMT"
            )),
            "{host}: {serve_log}"
        );
        wait_for(
            sim_log,
            "boot from disk (one-shot override)",
            Duration::from_secs(30),
        )
        .expect("the installer's reboot used the one-shot disk boot");
        let file = console(board);
        wait_unless(&file, "METAL-READY", "METAL-FAILED", DOM0_BOOT).expect("Dom0 up from disk");
        let text = recorded(&file);
        let after_install = text
            .split_once("METAL-INSTALLED")
            .map(|(_, after)| after)
            .unwrap_or_else(|| panic!("{host} never installed: {text}"));
        assert!(
            after_install.contains("metal initramfs: mode disk"),
            "{host} booted metal's initramfs from disk"
        );
        assert!(
            after_install.contains("METAL-DOM0 capabilities=control_d"),
            "{host}: Dom0 is up"
        );
        assert!(
            after_install.contains("METAL-VGS vg00 1 1"),
            "{host}: vg00 with its root volume"
        );
        assert!(
            after_install.contains(&format!("METAL-READY hostname={host}")),
            "{host}: its inventory hostname"
        );
        let address = m["address"].as_str().unwrap();
        assert!(
            after_install.contains(&format!("METAL-NET xenbr0 {address}/24")),
            "{host}: its inventory address on xenbr0"
        );
    }
    let mdstat = |board: &Board| {
        recorded(&console(board))
            .lines()
            .rfind(|l| l.starts_with("METAL-MDSTAT"))
            .unwrap_or_else(|| panic!("no METAL-MDSTAT from {}", board.amt))
            .to_string()
    };
    assert!(
        recorded(&console(&RAID10)).contains("METAL-INSTALL plan: layout=raid10 disks=4 root=3G"),
        "the hardware profile's root volume size reached the installer"
    );
    let md = mdstat(&RAID10);
    assert!(md.contains("raid10") && md.contains("[4/4]"), "{md}");
    for p in ["vda3", "vdb3", "vdc3", "vdd3"] {
        assert!(md.contains(p), "{p} in the array: {md}");
    }
    let md = mdstat(&RAID0);
    assert!(
        md.contains("raid0") && md.contains("vda3") && md.contains("vdb3"),
        "{md}"
    );

    // The diskless board runs Dom0 from RAM, booted over the network each time.
    let text = recorded(&console(&DISKLESS));
    assert!(text.contains("METAL-DOM0 capabilities=control_d"), "{text}");
    assert!(!text.contains("METAL-INSTALLED"), "nothing was installed");

    // The steps are in the events; the machines are in the exports.
    let raid10 = machine(&metal, RAID10.amt);
    let host = raid10["hostname"].as_str().unwrap();
    let (code, events, err) = metal.run(&["events", host]);
    assert_eq!(code, 0, "{err}");
    for step in ["partition", "array", "lvm", "root", "bootloader"] {
        assert!(
            events.contains(&format!("install/{step}")),
            "step {step} in the events: {events}"
        );
    }
    let (code, zone, err) = metal.run(&["export", "dns", "--zone", "lab.test"]);
    assert_eq!(code, 0, "{err}");
    let (code, nagios, err) = metal.run(&["export", "nagios"]);
    assert_eq!(code, 0, "{err}");
    for board in [&RAID10, &RAID0, &DISKLESS] {
        let m = machine(&metal, board.amt);
        let (host, address) = (
            m["hostname"].as_str().unwrap(),
            m["address"].as_str().unwrap(),
        );
        assert!(
            zone.lines()
                .any(|l| l.starts_with(host) && l.contains(address)),
            "{host} {address} in the zone: {zone}"
        );
        assert!(
            nagios
                .lines()
                .any(|l| l.split_whitespace().eq(["host_name", host])),
            "{host} in the Nagios objects: {nagios}"
        );
    }

    lab.terminate("console-record", Duration::from_secs(10));
    for board in [&RAID10, &RAID0, &DISKLESS] {
        lab.terminate(&format!("sim-{}", board.amt), Duration::from_secs(30));
    }
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn m_an_installer_that_dies_mid_install_ends_broken_naming_its_last_step() {
    lab::require_root();
    images();
    let mut lab = Lab::new("m");
    let profiles = lab.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    let (name, text) = PROFILES[0];
    std::fs::write(profiles.join(format!("{name}.toml")), text).unwrap();
    let metal = Metal::new(env!("CARGO_BIN_EXE_metal"))
        .password(PASSWORD)
        .netns(&lab.ns)
        .profiles(&profiles);
    let netboot = lab.dir.path().join("netboot.toml");
    std::fs::write(&netboot, config(&lab, "")).unwrap();
    lab.advertise_router();
    // Silence for 90 s while provisioning is death (the default is 30 minutes).
    let mut serve = metal
        .command([
            "serve",
            "--inventory",
            "--provision-timeout",
            "90",
            "--config",
        ])
        .into_command();
    serve.arg(&netboot).env("METAL_LOG", "metal_netboot=info");
    let server = lab.spawn("metal-serve", serve);
    wait_for(&server, "ready ", Duration::from_secs(20)).expect("metal serve did not start");
    let sim_log = start_sim(&mut lab, &metal, &RAID10, 0);

    let (code, out, err) = metal.run(&[
        "enroll",
        "127.0.30.1",
        "--rack",
        "q02",
        "--pool",
        "10.99.0.64/27",
        "--boot",
    ]);
    assert_eq!(code, 0, "enroll --boot: {out}{err}");
    let host = machine(&metal, RAID10.amt)["hostname"]
        .as_str()
        .unwrap()
        .to_string();
    // The power goes once the array is being built: the installer dies without a word, in
    // the middle of a step.
    wait_for(&server, "install/array", DOM0_BOOT).expect("the installer reached the array");
    let (code, out, err) = metal.run(&["power", "off", &host]);
    assert_eq!(code, 0, "power off: {out}{err}");
    wait_for(&sim_log, "VM stopped (power off)", Duration::from_secs(30)).unwrap();

    settle(&metal, Duration::from_secs(200));
    let m = machine(&metal, RAID10.amt);
    assert_eq!(m["state"], "broken", "{m}");
    let expected = format!("inventory: {host} is broken: no word from the machine for ");
    wait_for(&server, &expected, Duration::from_secs(10)).expect("the server says so");
    let (code, doc) = metal.json(&["events", &host]);
    assert_eq!(code, 0, "{doc}");
    let events = doc["events"].as_array().unwrap();
    let [.., step, last] = events.as_slice() else {
        panic!("too few events: {doc}")
    };
    assert_eq!(
        (&last["from"], &last["to"], &last["actor"]),
        (
            &"provisioning".into(),
            &"broken".into(),
            &"netboot watchdog".into()
        ),
        "{doc}"
    );
    let (reason, step) = (
        last["reason"].as_str().unwrap(),
        step["reason"].as_str().unwrap(),
    );
    assert!(
        step.starts_with("boot event ") && step.contains("install/"),
        "the installer was mid-install: {doc}"
    );
    assert!(
        reason.starts_with("no word from the machine for ")
            && reason.ends_with(&format!("; last: {step}")),
        "the reason names the silence and the last step: {doc}"
    );
    let events = doc.to_string();
    assert!(!events.contains("\"deployed\""), "never deployed: {events}");
    lab.terminate(&format!("sim-{}", RAID10.amt), Duration::from_secs(30));
}

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn p_demo_qemu_walks_one_board_to_a_dom0_on_raid10() {
    lab::require_root();
    images();
    let metal = Metal::new(env!("CARGO_BIN_EXE_metal"));
    let (code, out, err) = metal.run(&["demo", "--qemu"]);
    assert_eq!(code, 0, "{out}{err}");
    let inventory = out
        .split_once("metal enroll")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no enrolment step: {out}"));
    for expected in [
        "r01-h01",
        "[console] METAL-INSTALLED",
        "[console] METAL-DOM0 capabilities=control_d",
        "[console] METAL-READY hostname=r01-h01",
        "next boot set to disk over AMT",
        "Dom0 up from disk after",
        "The board booted from: pxe (one-shot), disk (one-shot)",
    ] {
        assert!(inventory.contains(expected), "{expected:?} in:\n{out}");
    }
    let leftovers = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&leftovers.stdout).contains("metal-demo-"),
        "the demo removed its namespace"
    );
}
