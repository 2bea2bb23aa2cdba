//! Volume streams between two ends over a socket pair, on files (the same code runs on LVM
//! volumes: `tests/vm_lvm.rs` does that inside a VM with device mapper).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;

use metal_xen::volume::{
    self, Compression, Expect, Kind, Received, Sent, StreamError, Token, receive, send_delta,
    send_full,
};

mod support;
use support::noise;

const MIB: u64 = 1 << 20;

/// A volume of `size` bytes: zeros with data at the given (offset, len) places.
fn volume(path: &Path, size: u64, data: &[(u64, usize)]) -> File {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.set_len(size).unwrap();
    for (i, &(offset, len)) in data.iter().enumerate() {
        f.write_all_at(&noise(i as u64 + 7, len), offset).unwrap();
    }
    f
}

fn read_all(f: &File) -> Vec<u8> {
    let mut v = Vec::new();
    let mut f = f.try_clone().unwrap();
    use std::io::Seek;
    f.rewind().unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

fn token(b: u8) -> Token {
    Token([b; 32])
}

/// Run a sender and a receiver against each other; `wire` sits between them (a plain copy, or
/// one that damages the stream).
fn transfer(
    send: impl FnOnce(&mut UnixStream) -> Result<Sent, StreamError> + Send + 'static,
    target: File,
    expect: Expect,
    wire: impl FnOnce(UnixStream, UnixStream) + Send + 'static,
) -> (Result<Sent, StreamError>, Result<Received, StreamError>) {
    let (mut a, b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    let wire = thread::spawn(move || wire(b, c));
    let sender = thread::spawn(move || send(&mut a));
    let size = target.metadata().unwrap().len();
    let received = receive(&mut d, &target, size, &expect);
    drop(d);
    let sent = sender.join().unwrap();
    wire.join().unwrap();
    (sent, received)
}

/// Copy both ways until either side closes.
fn plain(b: UnixStream, c: UnixStream) {
    damage(b, c, None, None)
}

/// Copy the sender's bytes to the receiver, flipping the byte at `flip` or stopping after
/// `cut` bytes; the receiver's answer goes back untouched.
fn damage(b: UnixStream, c: UnixStream, flip: Option<usize>, cut: Option<usize>) {
    let (mut b2, mut c2) = (b.try_clone().unwrap(), c.try_clone().unwrap());
    let back = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = c2.read(&mut buf) {
            if n == 0 || b2.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let (mut b, mut c) = (b, c);
    let mut seen = 0usize;
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match b.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut n = n;
        if let Some(f) = flip
            && (seen..seen + n).contains(&f)
        {
            buf[f - seen] ^= 0x40;
        }
        if let Some(cut) = cut
            && seen + n >= cut
        {
            n = cut - seen;
            let _ = c.write_all(&buf[..n]);
            break;
        }
        if c.write_all(&buf[..n]).is_err() {
            break;
        }
        seen += n;
    }
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

fn full_expect(t: &Token) -> Expect {
    Expect {
        token: t.clone(),
        kind: Kind::Full,
        base: None,
    }
}

#[test]
fn a_full_stream_copies_the_volume_exactly_and_sends_zeros_as_runs() {
    let dir = tempfile::tempdir().unwrap();
    let size = 24 * MIB;
    let data = [
        (0, 5000),
        (3 * MIB + 17, 2 * MIB as usize),
        (24 * MIB - 100, 100),
    ];
    let src = volume(&dir.path().join("src"), size, &data);
    // The target starts full of other bytes: a full stream must overwrite them all.
    let dst = volume(&dir.path().join("dst"), size, &[(0, size as usize)]);
    let t = token(1);
    let s2 = src.try_clone().unwrap();
    let t2 = t.clone();
    let (sent, got) = transfer(
        move |w| send_full(w, &s2, size, &t2, Compression::default()),
        dst.try_clone().unwrap(),
        full_expect(&t),
        plain,
    );
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert_eq!(read_all(&src), read_all(&dst));
    assert_eq!(sent.digest, got.digest);
    assert_eq!(sent.data_bytes + sent.zero_bytes, size);
    // Data is sent in whole 64 KiB blocks: three places touch at most 35 blocks.
    assert!(sent.data_bytes <= 35 * volume::BLOCK, "{sent:?}");
    assert!(sent.zero_bytes >= size - 35 * volume::BLOCK, "{sent:?}");
    assert!(
        sent.wire_bytes < 3 * MIB,
        "noise compresses little, zeros not at all: {sent:?}"
    );
}

#[test]
fn a_delta_sends_only_the_changed_ranges_on_top_of_its_base() {
    let dir = tempfile::tempdir().unwrap();
    let size = 8 * MIB;
    let src = volume(&dir.path().join("src"), size, &[(MIB, MIB as usize)]);
    let dst = volume(&dir.path().join("dst"), size, &[]);
    let t = token(2);
    let (s2, t2) = (src.try_clone().unwrap(), t.clone());
    let (sent, got) = transfer(
        move |w| send_full(w, &s2, size, &t2, Compression::default()),
        dst.try_clone().unwrap(),
        full_expect(&t),
        plain,
    );
    let base = sent.unwrap().digest;
    assert_eq!(got.unwrap().digest, base);

    // The guest writes after the snapshot: new data, and zeros over old data.
    src.write_all_at(&noise(99, 8192), 5 * MIB).unwrap();
    src.write_all_at(&vec![0u8; 4096], MIB).unwrap();
    let changed = vec![MIB..MIB + 4096, 5 * MIB..5 * MIB + 8192];
    let (s2, t2) = (src.try_clone().unwrap(), t.clone());
    let (sent, got) = transfer(
        move |w| send_delta(w, &s2, size, base, changed, &t2, Compression::default()),
        dst.try_clone().unwrap(),
        Expect {
            token: t.clone(),
            kind: Kind::Delta,
            base: Some(base),
        },
        plain,
    );
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert_eq!(sent.data_bytes, 8192);
    assert_eq!(sent.zero_bytes, 4096);
    assert_eq!(got.frames, 2);
    assert_eq!(read_all(&src), read_all(&dst));

    // A delta on another base is refused before anything is written.
    let (s2, t2) = (src.try_clone().unwrap(), t.clone());
    let (sent, got) = transfer(
        move |w| {
            send_delta(
                w,
                &s2,
                size,
                base ^ 1,
                std::iter::once(0..4096).collect(),
                &t2,
                Compression::default(),
            )
        },
        dst.try_clone().unwrap(),
        Expect {
            token: t,
            kind: Kind::Delta,
            base: Some(base),
        },
        plain,
    );
    assert!(matches!(got, Err(StreamError::Base { .. })), "{got:?}");
    let sent = sent.unwrap_err().to_string();
    assert!(sent.contains("full pass"), "{sent}");
}

#[test]
fn a_wrong_token_a_small_target_and_a_wrong_kind_are_refused_and_the_sender_is_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let src = volume(&dir.path().join("src"), 4 * MIB, &[(0, 4096)]);
    let cases: Vec<(Token, u64, Kind, &str)> = vec![
        (token(9), 4 * MIB, Kind::Full, "token"),
        (token(3), 2 * MIB, Kind::Full, "needs 4194304"),
        (token(3), 4 * MIB, Kind::Delta, "expected a delta stream"),
    ];
    for (expected_token, target_size, kind, why) in cases {
        let dst = volume(&dir.path().join("dst"), target_size, &[(0, 4096)]);
        let before = read_all(&dst);
        let s2 = src.try_clone().unwrap();
        let (sent, got) = transfer(
            move |w| send_full(w, &s2, 4 * MIB, &token(3), Compression::default()),
            dst.try_clone().unwrap(),
            Expect {
                token: expected_token,
                kind,
                base: None,
            },
            plain,
        );
        let got = got.unwrap_err().to_string();
        assert!(got.contains(why), "{why}: {got}");
        let sent = sent.unwrap_err().to_string();
        assert!(
            sent.contains("refused") && sent.contains(why),
            "{why}: {sent}"
        );
        assert_eq!(read_all(&dst), before, "{why}: nothing written");
    }
}

#[test]
fn a_damaged_or_cut_stream_is_never_verified() {
    let dir = tempfile::tempdir().unwrap();
    let size = 8 * MIB;
    let src = volume(&dir.path().join("src"), size, &[(0, 6 * MIB as usize)]);
    for (flip, cut) in [
        (Some(200_000), None),
        (Some(5_000_000), None),
        (None, Some(3_000_000)),
    ] {
        let dst = volume(&dir.path().join("dst"), size, &[]);
        let s2 = src.try_clone().unwrap();
        let (sent, got) = transfer(
            move |w| send_full(w, &s2, size, &token(4), Compression::default()),
            dst.try_clone().unwrap(),
            full_expect(&token(4)),
            move |b, c| damage(b, c, flip, cut),
        );
        assert!(got.is_err(), "flip {flip:?} cut {cut:?}: {got:?}");
        assert!(sent.is_err(), "flip {flip:?} cut {cut:?}: {sent:?}");
    }
}
