//! `metal-agent volume send|receive` as an operator runs them: two processes, a token in the
//! environment, files as volumes, on a loopback address of the test's own block.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use metal_test_support::loopback::Block;

const AGENT: &str = env!("CARGO_BIN_EXE_metal-agent");
const TOKEN: &str = "6d6574616c2d6167656e742d746573742d746f6b656e2d6e6f742d7265616c21";

fn receiver(addr: &str, token: &str, device: &Path) -> Child {
    Command::new(AGENT)
        .args(["volume", "receive", "--listen", addr])
        .arg(device)
        .env("METAL_STREAM_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends once the receiver listens (it binds within moments of starting).
fn send(addr: &str, token: &str, device: &Path) -> Output {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new(AGENT)
            .args(["volume", "send", "--to", addr])
            .arg(device)
            .env("METAL_STREAM_TOKEN", token)
            .output()
            .unwrap();
        let refused = String::from_utf8_lossy(&out.stderr).contains("Connection refused");
        if !refused || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_volume_sent_between_two_processes_arrives_byte_identical() {
    let block = Block::allocate();
    let addr = format!("{}:7101", block.ip(1));
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let f = std::fs::File::create(&src).unwrap();
    f.set_len(16 << 20).unwrap();
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    f.write_all_at(&data, 5 << 20).unwrap();
    std::fs::File::create(&dst)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();

    let rx = receiver(&addr, TOKEN, &dst);
    let sent = send(&addr, TOKEN, &src);
    let got = rx.wait_with_output().unwrap();
    assert!(sent.status.success(), "send: {}", text(&sent.stderr));
    assert!(got.status.success(), "receive: {}", text(&got.stderr));
    let said = text(&sent.stdout);
    assert!(said.starts_with("sent 16777216 bytes ("), "{said}");
    assert!(said.contains("; verified, digest "), "{said}");
    let digest = said.rsplit(' ').next().unwrap().trim().to_string();
    assert!(
        text(&got.stdout).contains(&digest),
        "both ends name one digest"
    );
    assert_eq!(std::fs::read(&src).unwrap(), std::fs::read(&dst).unwrap());
}

#[test]
fn a_sender_with_another_token_is_refused_and_both_say_why() {
    let block = Block::allocate();
    let addr = format!("{}:7102", block.ip(1));
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::write(&src, vec![7u8; 1 << 20]).unwrap();
    std::fs::write(&dst, vec![1u8; 1 << 20]).unwrap();
    let rx = receiver(&addr, TOKEN, &dst);
    let other = TOKEN.replace('6', "7");
    let sent = send(&addr, &other, &src);
    let got = rx.wait_with_output().unwrap();
    assert_eq!(sent.status.code(), Some(2));
    assert_eq!(got.status.code(), Some(2));
    assert!(
        text(&sent.stderr)
            .contains("the receiver refused the stream: the stream's token is not the one"),
        "{}",
        text(&sent.stderr)
    );
    assert!(text(&got.stderr).contains("token"), "{}", text(&got.stderr));
    assert_eq!(
        std::fs::read(&dst).unwrap(),
        vec![1u8; 1 << 20],
        "nothing written"
    );
}

#[test]
fn a_token_that_is_not_64_hex_digits_is_a_usage_error() {
    let out = Command::new(AGENT)
        .args(["volume", "send", "--to", "127.0.0.1:9", "/dev/null"])
        .env("METAL_STREAM_TOKEN", "abcd")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("64 hex digits"),
        "{}",
        text(&out.stderr)
    );
}
