//! `metal tftp serve` as a process, with curl as the client (`.ci/netboot-deps.sh` installs
//! it; without curl the test fails saying so): eight lock-step copies and one in netascii at
//! once are exact, a write and an escape are refused with their RFC 1350 codes, and SIGTERM
//! stops the server and frees the port.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use metal_test_support::metal::Metal;
use metal_test_support::process::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_metal");

fn curl(args: &[&str]) -> Command {
    let mut c = Command::new("curl");
    c.args(["-s", "--max-time", "60"]).args(args);
    c
}

#[test]
fn concurrent_copies_are_exact_and_sigterm_frees_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.path().join("boot.bin"), &data).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "one\ntwo\n").unwrap();
    let metal = Metal::new(BIN).no_inventory();
    // Port 0: the kernel picks a free port, so no loopback block is needed.
    let mut server = metal
        .command(["tftp", "serve"])
        .arg(dir.path())
        .arg("--listen")
        .arg("127.0.0.1:0")
        .spawn();
    let mut ready = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let addr = ready
        .trim_end()
        .strip_prefix("ready tftp=")
        .unwrap_or_else(|| panic!("no ready line: {ready:?}"))
        .to_string();

    let mut fetches: Vec<_> = (0..8)
        .map(|i| {
            let out = dir.path().join(format!("copy{i}"));
            let child = curl(&[&format!("tftp://{addr}/boot.bin"), "-o"])
                .arg(&out)
                .spawn()
                .expect("curl is required for this test (apt-get install curl)");
            (child, out)
        })
        .collect();
    // curl asks for netascii with ";mode=netascii" (RFC 3617 §2): line ends arrive as CR LF.
    let ascii = dir.path().join("ascii");
    let child = curl(&[&format!("tftp://{addr}/notes.txt;mode=netascii"), "-o"])
        .arg(&ascii)
        .spawn()
        .unwrap();
    fetches.push((child, ascii.clone()));
    for (mut child, out) in fetches {
        assert!(child.wait().unwrap().success(), "{} failed", out.display());
    }
    for i in 0..8 {
        let copy = std::fs::read(dir.path().join(format!("copy{i}"))).unwrap();
        assert!(copy == data, "copy {i} differs");
    }
    assert_eq!(std::fs::read(&ascii).unwrap(), b"one\r\ntwo\r\n");

    // curl reports TFTP errors by exit code 68 (file not found) and 69 (permission problem).
    let missing = curl(&[&format!("tftp://{addr}/nope"), "-o", "/dev/null"])
        .status()
        .unwrap();
    assert_eq!(missing.code(), Some(68), "a missing file is TFTP error 1");
    let upload = dir.path().join("upload");
    std::fs::write(&upload, "x").unwrap();
    let write = curl(&["-T"])
        .arg(&upload)
        .arg(format!("tftp://{addr}/evil"))
        .status()
        .unwrap();
    assert_eq!(write.code(), Some(69), "a write is TFTP error 2");
    assert!(!dir.path().join("evil").exists());

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let status = server.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let log = std::io::read_to_string(server.stderr.take().unwrap()).unwrap();
    assert!(log.contains("read boot.bin: done, 3000000 bytes"), "{log}");
    assert!(log.contains("write evil: refused (read-only)"), "{log}");
    wait_until("the port is free again", Duration::from_secs(2), || {
        std::net::UdpSocket::bind(&addr).is_ok()
    });
}
