//! Factory acceptance with the in-band burn-in, end to end: a `metal sim --qemu` board (AMT in
//! front, a QEMU VM with two disks behind), `metal serve` booting every unknown MAC into the
//! burn-in image (`metal image build burnin`), and `metal verify --netboot URL --burnin`. The
//! board really runs stress-ng, memtester, stressapptest and fio; one of its disks holds an
//! ext4 file system that the burn-in must only read.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use metal_test_support::metal::Metal;
use sha2::Digest;

use crate::dom0::{config, images, nonzero_bytes};
use crate::flow::{Board, PASSWORD, start_sim};
use crate::lab::{self, Lab, SERVER, wait_for};

const BOARD: Board = Board {
    amt: "127.0.30.4",
    disks: "2x1G",
    firmware: "bios",
};

/// The netboot profile: short runs, small sizes (TCG is slow), write only on blank disks.
const BURNIN_PROFILE: &str = "[profiles.burnin]\ntemplate = \"burnin.ipxe\"\nkernel = \"burnin-vmlinuz\"\n\
     initrd = \"burnin-initrd.img\"\ncmdline = \"console=ttyS0\"\nsecs = 5\nmemory_mib = 16\n\
     disk_mib = 32\ndisk_write = \"blank\"\n";

/// The hardware profile the unit is held to: a disk floor no virtual disk reaches, so the
/// disks come out DEGRADED while CPU and memory (no floors) pass.
const HARDWARE_PROFILE: &str = "description = \"QEMU board, 1 GiB, two disks\"\n[match]\nmemory_gib = 1\ndisks = 2\n\
     [provision]\nstorage = \"diskless\"\ndom0_memory_mib = 512\nrole = \"compute\"\n\
     [acceptance]\npower_on_secs = 60\nsol_secs = 120\npxe_secs = 180\nburnin_secs = 900\ndisk_mib_s_min = 100000\n";

#[test]
#[ignore = "end-to-end: needs root, QEMU, debootstrap and .ci/netboot-deps.sh; run with --ignored"]
fn q_verify_burnin_runs_the_tools_in_the_board_and_judges_each_component() {
    lab::require_root();
    let images = images();
    assert!(images.join("burnin-initrd.img").is_file());
    let mut lab = Lab::new("q");
    let token = "factory-floor-operator-token";
    let operator = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let serve = config(&lab, BURNIN_PROFILE)
        .replace(
            "default_profile = \"dom0-diskless\"",
            "default_profile = \"burnin\"",
        )
        .replace(
            "[http]\n",
            &format!("[http]\noperator_token_sha256 = \"{operator}\"\n"),
        );
    let server = lab.serve(&serve);

    // The second disk holds a file system before the board ever boots.
    let vms = lab.dir.path().join("vms");
    std::fs::create_dir_all(&vms).unwrap();
    let (blank, used) = (
        vms.join(format!("{}-disk0.img", BOARD.amt)),
        vms.join(format!("{}-disk1.img", BOARD.amt)),
    );
    std::fs::File::create(&used)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let made = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "keepme"])
        .arg(&used)
        .status()
        .unwrap();
    assert!(made.success());

    let profiles = lab.dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("qemu-burnin.toml"), HARDWARE_PROFILE).unwrap();
    let metal = Metal::new(env!("CARGO_BIN_EXE_metal"))
        .password(PASSWORD)
        .netns(&lab.ns)
        .profiles(&profiles)
        .no_inventory();
    let sim = start_sim(&mut lab, &metal, &BOARD, 4);
    let token_file = lab.dir.path().join("operator.token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let reports = lab.dir.path().join("reports");
    let started = std::time::Instant::now();
    let (code, out, err) = metal.run(&[
        "verify",
        BOARD.amt,
        "--profile",
        "qemu-burnin",
        "--report",
        reports.to_str().unwrap(),
        "--netboot",
        &format!("http://{SERVER}:8080"),
        "--netboot-token-file",
        token_file.to_str().unwrap(),
        "--burnin",
    ]);
    eprintln!(
        "(q) verify with burn-in: {:.1?}\n{out}{err}",
        started.elapsed()
    );
    let serve_log = lab::read_lossy(&server);
    assert_eq!(
        code,
        0,
        "a degraded unit passes: {out}{err}\n{serve_log}\n{}",
        lab::read_lossy(&sim)
    );

    // What the board itself said, on the server: every component, then the end.
    let burnin_lines: Vec<&str> = serve_log
        .lines()
        .filter(|l| l.starts_with("event ") && l.contains(" stage=burnin "))
        .collect();
    assert!(
        burnin_lines.len() >= 4,
        "cpu, memory and two disks reported: {serve_log}"
    );
    wait_for(&server, " stage=burnin-done ", Duration::from_secs(1)).expect("the end was reported");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["passed"], 1, "{summary}");
    assert_eq!(summary["degraded"], 1, "{summary}");
    let unit = &summary["units"][0];
    assert_eq!(unit["failures"], serde_json::json!([]), "{summary}");
    let degraded: Vec<&str> = unit["degraded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        degraded,
        ["burnin-disk-vda", "burnin-disk-vdb"],
        "{summary}"
    );

    let line = |check: &str| {
        out.lines()
            .find(|l| l.starts_with("DEGRADED ") && l.contains(&format!(" {check}: ")))
            .unwrap_or_else(|| panic!("no DEGRADED line for {check}: {out}"))
            .to_string()
    };
    let vda = line("burnin-disk-vda");
    assert!(
        vda.contains("fio wrote and verified (crc32c) 32 MiB of vda")
            && vda.contains("under the profile's floor of 100000"),
        "{vda}"
    );
    let vdb = line("burnin-disk-vdb");
    assert!(
        vdb.contains("fio read 32 MiB of vdb") && vdb.contains("only read: it holds ext4"),
        "{vdb}"
    );

    // CPU and memory passed with what the tools measured inside the board.
    let page = std::fs::read_to_string(
        std::fs::read_dir(&reports)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .expect("the unit's OCP-TV report"),
    )
    .unwrap();
    for evidence in [
        "stress-ng --verify on 1 CPU for 5 s, no errors",
        "memtester and stressapptest over 16 MiB",
        "components tested",
    ] {
        assert!(page.contains(evidence), "{evidence}: {page}");
    }
    assert!(page.contains("burnin-disk-vda-degraded"), "{page}");

    // The blank disk was written; the one with a file system is intact.
    assert!(nonzero_bytes(&blank) > 0, "fio wrote to the blank disk");
    let fsck = Command::new("e2fsck")
        .args(["-f", "-n"])
        .arg(&used)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "the ext4 disk is untouched: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}
