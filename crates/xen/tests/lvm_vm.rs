//! LVM and volume streams for real: volume groups on loop devices, `lvm2`'s snapshots, a full
//! stream from a snapshot while the origin keeps changing, a delta read from the snapshot's
//! exception store, each result compared byte for byte, and streams that fail mid-way.
//!
//! This machine's kernel has no device mapper, so the cases run inside a QEMU VM with the Dom0
//! image's kernel and modules ([`metal_test_support::vm`]): the outer test (ignored by a plain
//! `cargo test`; root; Debian packages qemu-system-x86, cpio, lvm2 and what `metal image build`
//! needs) boots the VM and runs this same binary inside it with `METAL_IN_VM=1`, where each
//! case is a test of its own.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use metal_xen::domu::GuestName;
use metal_xen::lvm::{LvmError, VolumeGroup};
use metal_xen::volume::cow::Exceptions;
use metal_xen::volume::{
    Compression, Expect, Kind, Received, Sent, StreamError, Token, receive, send_delta, send_full,
};

mod support;
use support::noise;

const MIB: u64 = 1 << 20;

fn main() {
    let args = Arguments::from_args();
    let trials = if std::env::var_os("METAL_IN_VM").is_some() {
        vec![
            Trial::test(
                "volumes_are_created_sized_and_refused_beyond_free_space",
                volumes_are_created_sized_and_refused_beyond_free_space,
            ),
            Trial::test(
                "a_snapshot_streams_whole_then_its_changes_as_a_delta",
                a_snapshot_streams_whole_then_its_changes_as_a_delta,
            ),
            Trial::test("a_stream_cut_mid_way_is_refused_and_never_verified", || {
                a_stream_cut_mid_way_is_refused_and_never_verified()
            }),
            Trial::test(
                "a_target_volume_too_small_is_refused_before_any_write",
                a_target_volume_too_small_is_refused_before_any_write,
            ),
        ]
    } else {
        vec![Trial::test("lvm_cases_in_a_vm_with_device_mapper", in_a_vm).with_ignored_flag(true)]
    };
    libtest_mimic::run(&args, trials).exit();
}

/// Boots the VM and runs every case inside it, one at a time.
fn in_a_vm() -> Result<(), Failed> {
    if unsafe { libc::geteuid() } != 0 {
        return Err("the LVM cases need root (loop devices, QEMU, the image build)".into());
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let outcome = metal_test_support::vm::run(
        &me,
        &["--test-threads", "1"],
        &["dm-mod", "dm-snapshot", "loop"],
        2048,
        Duration::from_secs(900),
    );
    let program: String = outcome
        .console
        .lines()
        .skip_while(|l| !l.contains("metal-vm: running"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{program}");
    if outcome.code != 0 {
        return Err(format!(
            "the cases failed inside the VM (exit {}); its console:\n{}",
            outcome.code, outcome.console
        )
        .into());
    }
    // Every case ran and passed: libtest's summary, as the program printed it.
    if !program.contains("test result: ok. 4 passed; 0 failed") {
        return Err(format!("not every case passed inside the VM:\n{program}").into());
    }
    Ok(())
}

/// A volume group over `n` loop devices of `mib` each (files in the VM's RAM), removed with
/// its loop devices when dropped. LVM sees only these devices.
struct Group {
    vg: VolumeGroup,
    loops: Vec<PathBuf>,
}

impl Group {
    fn new(name: &str, n: usize, mib: u64) -> Group {
        let mut loops = Vec::new();
        for i in 0..n {
            let file = PathBuf::from(format!("/tmp/{name}-{i}.img"));
            File::create(&file).unwrap().set_len(mib * MIB).unwrap();
            let out = Command::new("losetup")
                .args(["--show", "-f"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(out.status.success(), "losetup: {out:?}");
            loops.push(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()));
        }
        let filter = loops
            .iter()
            .map(|l| format!("\"a|^{}$|\"", l.display()))
            .chain(std::iter::once("\"r|.*|\"".to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        // The VM's root is read-only: no metadata backups under /etc/lvm.
        let extra =
            format!("devices {{ filter = [ {filter} ] }} backup {{ backup = 0 archive = 0 }}");
        let vg = VolumeGroup::new(name, &extra);
        vg.create(&loops).unwrap();
        Group { vg, loops }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = self.vg.remove();
        for l in &self.loops {
            let _ = Command::new("losetup").arg("-d").arg(l).status();
        }
    }
}

fn name(s: &str) -> GuestName {
    GuestName::new(s).unwrap()
}

fn open_rw(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap()
}

/// Every byte of a device, read past the page cache's view of any other opener.
fn contents(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    File::open(path).unwrap().read_to_end(&mut v).unwrap();
    v
}

/// Runs `send` against a receiver into `target` over TCP on the VM's loopback; `cut` stops
/// forwarding the sender's bytes after that many (the connection then drops).
fn over_tcp(
    send: impl FnOnce(&mut TcpStream) -> Result<Sent, StreamError> + Send + 'static,
    target: &Path,
    expect: Expect,
    cut: Option<usize>,
) -> (Result<Sent, StreamError>, Result<Received, StreamError>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let relay = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay_addr = relay.local_addr().unwrap();
    let relay = thread::spawn(move || {
        let (mut from, _) = relay.accept().unwrap();
        let mut to = TcpStream::connect(addr).unwrap();
        let mut back_from = to.try_clone().unwrap();
        let mut back_to = from.try_clone().unwrap();
        let back = thread::spawn(move || {
            let _ = std::io::copy(&mut back_from, &mut back_to);
            let _ = back_to.shutdown(std::net::Shutdown::Write);
        });
        let mut seen = 0usize;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let n = match cut {
                Some(c) if seen + n >= c => {
                    use std::io::Write;
                    let _ = to.write_all(&buf[..c - seen]);
                    // Both ways down, as when a link or a Dom0 dies.
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    break;
                }
                _ => n,
            };
            use std::io::Write;
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            seen += n;
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
    });
    let sender = thread::spawn(move || {
        let mut conn = TcpStream::connect(relay_addr).unwrap();
        send(&mut conn)
    });
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let file = open_rw(target);
    let size = device_size(target);
    let received = receive(&mut conn, &file, size, &expect);
    drop(conn);
    let sent = sender.join().unwrap();
    relay.join().unwrap();
    (sent, received)
}

/// A full stream of `size` bytes of `source` into `target` with token `t` ([`over_tcp`]).
fn full_over_tcp(
    source: &Path,
    size: u64,
    target: &Path,
    t: &Token,
    cut: Option<usize>,
) -> (Result<Sent, StreamError>, Result<Received, StreamError>) {
    let (source, t2) = (source.to_path_buf(), t.clone());
    over_tcp(
        move |w| {
            send_full(
                w,
                &File::open(&source).unwrap(),
                size,
                &t2,
                Compression::default(),
            )
        },
        target,
        Expect {
            token: t.clone(),
            kind: Kind::Full,
            base: None,
        },
        cut,
    )
}

fn device_size(path: &Path) -> u64 {
    use std::io::{Seek, SeekFrom};
    File::open(path).unwrap().seek(SeekFrom::End(0)).unwrap()
}

fn token(b: u8) -> Token {
    Token([b; 32])
}

fn volumes_are_created_sized_and_refused_beyond_free_space() -> Result<(), Failed> {
    let g = Group::new("vmt-a", 2, 64);
    let free = g.vg.free().unwrap();
    // Two 64 MiB PVs less LVM's metadata area: about 120 MiB in 4 MiB extents.
    assert!((100 * MIB..=128 * MIB).contains(&free), "free {free}");
    let web = name("web-1");
    // 10 MiB is rounded up to the 4 MiB extent.
    let path = g.vg.create_volume(&web, 10 * MIB).unwrap();
    assert_eq!(path, PathBuf::from("/dev/vmt-a/web-1"));
    assert!(path.exists(), "LVM made the device node itself (no udev)");
    assert_eq!(g.vg.volume_size("web-1").unwrap(), 12 * MIB);
    assert!(g.vg.has_volume("web-1").unwrap());
    assert_eq!(g.vg.free().unwrap(), free - 12 * MIB);
    // The new volume starts zeroed where a guest's root would look for signatures.
    assert!(contents(&path)[..4096].iter().all(|&b| b == 0));

    match g.vg.create_volume(&name("db-1"), free) {
        Err(LvmError::NoSpace { vg, need, .. }) => {
            assert_eq!(vg, "vmt-a");
            assert_eq!(need, free);
        }
        other => panic!("a volume larger than the free space: {other:?}"),
    }
    assert!(!g.vg.has_volume("db-1").unwrap());
    g.vg.remove_volume("web-1").unwrap();
    assert!(!g.vg.has_volume("web-1").unwrap());
    assert!(!path.exists());
    Ok(())
}

fn a_snapshot_streams_whole_then_its_changes_as_a_delta() -> Result<(), Failed> {
    let source = Group::new("vmt-src", 1, 128);
    let target = Group::new("vmt-dst", 1, 128);
    let size = 48 * MIB;
    let origin = source.vg.create_volume(&name("app-1"), size).unwrap();
    {
        let f = open_rw(&origin);
        f.write_all_at(&noise(1, 3 * MIB as usize), MIB).unwrap();
        f.write_all_at(&noise(2, 700_000), 20 * MIB + 12345)
            .unwrap();
        f.write_all_at(&noise(3, 4096), size - 4096).unwrap();
        f.sync_all().unwrap();
    }
    let snap_cow = 16 * MIB;
    let snap = source.vg.snapshot("app-1", "app-1-move", snap_cow).unwrap();
    let cow = source.vg.cow_path("app-1-move");
    assert!(
        cow.exists(),
        "{} (dash doubled in the dm name)",
        cow.display()
    );
    let at_snapshot = contents(&origin);

    // The guest keeps writing while the full pass runs from the snapshot.
    let dest = target.vg.create_volume(&name("app-1"), size).unwrap();
    {
        let f = open_rw(&dest);
        f.write_all_at(&noise(9, 2 * MIB as usize), 30 * MIB)
            .unwrap();
        f.sync_all().unwrap();
    }
    let writer = {
        let origin = origin.clone();
        thread::spawn(move || {
            let f = open_rw(&origin);
            f.write_all_at(&noise(4, 64 * 1024), 2 * MIB).unwrap();
            f.write_all_at(&vec![0u8; 8192], 20 * MIB + 16384).unwrap();
            f.write_all_at(&noise(5, 300_000), 40 * MIB).unwrap();
            f.sync_all().unwrap();
        })
    };
    let t = token(7);
    let (sent, got) = full_over_tcp(&snap, size, &dest, &t, None);
    writer.join().unwrap();
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert_eq!(sent.digest, got.digest);
    assert_eq!(contents(&snap), at_snapshot, "the snapshot stays as it was");
    assert_eq!(
        contents(&dest),
        at_snapshot,
        "the target holds the snapshot, byte for byte"
    );
    assert!(sent.data_bytes < 6 * MIB, "zeros sent as runs: {sent:?}");

    // The guest is stopped: what changed since the snapshot comes from its exception store.
    let cow_file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(&cow)
        .unwrap();
    let exceptions = Exceptions::read(&cow_file, device_size(&cow), size).unwrap();
    drop(cow_file);
    let changed = exceptions.changed_ranges(size);
    for write in [2 * MIB, 20 * MIB + 16384, 40 * MIB] {
        assert!(
            changed.iter().any(|r| r.contains(&write)),
            "the write at {write} is in the exception table: {changed:?}"
        );
    }
    let changed_bytes = exceptions.changed_bytes(size);
    assert!(changed_bytes < 2 * MIB, "{changed_bytes} bytes changed");

    let (origin2, t2, base) = (origin.clone(), t.clone(), got.digest);
    let (sent, got) = over_tcp(
        move |w| {
            send_delta(
                w,
                &File::open(&origin2).unwrap(),
                size,
                base,
                changed,
                &t2,
                Compression::default(),
            )
        },
        &dest,
        Expect {
            token: t.clone(),
            kind: Kind::Delta,
            base: Some(base),
        },
        None,
    );
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert_eq!(sent.digest, got.digest);
    assert_eq!(sent.data_bytes + sent.zero_bytes, changed_bytes);
    assert_eq!(
        contents(&dest),
        contents(&origin),
        "after the delta the target is the origin, byte for byte"
    );
    source.vg.remove_volume("app-1-move").unwrap();
    assert!(!cow.exists());
    Ok(())
}

fn a_stream_cut_mid_way_is_refused_and_never_verified() -> Result<(), Failed> {
    let source = Group::new("vmt-cut-a", 1, 64);
    let target = Group::new("vmt-cut-b", 1, 64);
    let size = 32 * MIB;
    let origin = source.vg.create_volume(&name("db-1"), size).unwrap();
    {
        let f = open_rw(&origin);
        f.write_all_at(&noise(11, 16 * MIB as usize), 0).unwrap();
        f.sync_all().unwrap();
    }
    let dest = target.vg.create_volume(&name("db-1"), size).unwrap();
    let t = token(8);
    let (sent, got) = full_over_tcp(&origin, size, &dest, &t, Some(4 * MIB as usize));
    let got = got.expect_err("a cut stream never verifies");
    assert!(
        matches!(got, StreamError::Truncated | StreamError::Io(_)),
        "receiver: {got}"
    );
    let sent = sent.expect_err("the sender never hears OK");
    assert!(
        !matches!(sent, StreamError::VerdictDigest),
        "sender: {sent}"
    );
    // The source is untouched and still there.
    assert!(source.vg.has_volume("db-1").unwrap());
    assert_eq!(
        contents(&origin)[..MIB as usize],
        noise(11, 16 * MIB as usize)[..MIB as usize]
    );
    Ok(())
}

fn a_target_volume_too_small_is_refused_before_any_write() -> Result<(), Failed> {
    let source = Group::new("vmt-small-a", 1, 64);
    let target = Group::new("vmt-small-b", 1, 64);
    let origin = source.vg.create_volume(&name("cache-1"), 32 * MIB).unwrap();
    {
        let f = open_rw(&origin);
        f.write_all_at(&noise(12, MIB as usize), 0).unwrap();
        f.sync_all().unwrap();
    }
    let dest = target.vg.create_volume(&name("cache-1"), 16 * MIB).unwrap();
    {
        let f = open_rw(&dest);
        f.write_all_at(&noise(13, MIB as usize), 0).unwrap();
        f.sync_all().unwrap();
    }
    let before = contents(&dest);
    let t = token(9);
    let (sent, got) = full_over_tcp(&origin, 32 * MIB, &dest, &t, None);
    match got {
        Err(StreamError::TooSmall { have, need }) => {
            assert_eq!((have, need), (16 * MIB, 32 * MIB));
        }
        other => panic!("receiver: {other:?}"),
    }
    match sent {
        Err(StreamError::Refused(reason)) => {
            assert!(reason.contains("holds 16777216 bytes"), "{reason}");
        }
        other => panic!("sender: {other:?}"),
    }
    assert_eq!(contents(&dest), before, "nothing was written");
    Ok(())
}
