//! `metal tftp serve --workers N`: several processes serve one port and every copy is exact;
//! killing the first process (even with SIGKILL) takes the workers with it. Uses curl as the
//! TFTP client (`.ci/netboot-deps.sh` installs it); without curl the test fails saying so.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{BIN, wait_until};

#[test]
fn workers_share_the_port_and_leave_with_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(dir.path().join("boot.bin"), &data).unwrap();
    let mut server = Command::new(BIN)
        .args(["tftp", "serve"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--workers", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.trim_end().ends_with("workers=2"), "{ready}");
    let addr = ready
        .split_whitespace()
        .find_map(|f| f.strip_prefix("tftp="))
        .unwrap()
        .to_string();

    let fetches: Vec<_> = (0..8)
        .map(|i| {
            let out = dir.path().join(format!("copy{i}"));
            let child = Command::new("curl")
                .args([
                    "-s",
                    "--max-time",
                    "60",
                    &format!("tftp://{addr}/boot.bin"),
                    "-o",
                ])
                .arg(&out)
                .spawn()
                .expect("curl is required for this test (apt-get install curl)");
            (child, out)
        })
        .collect();
    for (mut child, out) in fetches {
        assert!(child.wait().unwrap().success());
        assert!(
            std::fs::read(&out).unwrap() == data,
            "{} differs",
            out.display()
        );
    }

    let _ = Command::new("kill")
        .args(["-KILL", &server.id().to_string()])
        .status();
    let _ = server.wait();
    // Once every worker is gone the port can be bound again without SO_REUSEPORT.
    wait_until(
        "the workers exit with their parent",
        Duration::from_secs(5),
        || std::net::UdpSocket::bind(&addr).is_ok(),
    );
}
