//! The daemon's ends of a move (`metal vm migrate`): a one-time listener that writes one
//! verified stream into a guest's volume, and a sender that streams a snapshot (the full pass,
//! guest running) or what changed since it (the delta, guest stopped) to another Dom0.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metal_xen::api::{Listening, Receive, ReceiveStatus, Send, SendReport, StreamKind};
use metal_xen::volume::cow::Exceptions;
use metal_xen::volume::{self, Compression, Expect, Kind, StreamError, Token};

use crate::guests::{GuestError, Guests, move_snapshot};
use crate::volume::tune;

/// Receivers and full passes in flight, by guest.
#[derive(Default)]
pub struct Streams {
    pub receives: std::sync::Mutex<std::collections::HashMap<String, ReceiveStatus>>,
    /// The digest of each guest's last verified full pass sent from here.
    pub full_sent: std::sync::Mutex<std::collections::HashMap<String, u128>>,
}

/// How long a listener waits for its stream to arrive.
const ACCEPT: Duration = Duration::from_secs(120);
/// Connections refused for a wrong token (or not a stream at all) before the listener gives
/// up: a stray or hostile connection must not end the transfer, nor keep it open forever.
const MAX_REFUSED: usize = 16;

fn token(hex_text: &str) -> Result<Token, GuestError> {
    let bytes = hex::decode(hex_text)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| GuestError::Other("the stream token is not 64 hex digits".into()))?;
    Ok(Token(bytes))
}

fn digest(hex_text: &str) -> Result<u128, GuestError> {
    u128::from_str_radix(hex_text, 16)
        .ok()
        .filter(|_| hex_text.len() == 32)
        .ok_or_else(|| GuestError::Other("the base digest is not 32 hex digits".into()))
}

/// Opens the listener for `name` and returns its port; the stream is received on a thread of
/// its own and its outcome kept for [`status`].
pub fn receive(
    guests: &Arc<Guests>,
    streams: &Arc<Streams>,
    name: &str,
    req: &Receive,
) -> Result<Listening, GuestError> {
    let (name, _) = guests.definition(name)?;
    guests.require_stopped(&name, "its volume is its disk")?;
    let expect = Expect {
        token: token(&req.token)?,
        kind: match req.kind {
            StreamKind::Full => Kind::Full,
            StreamKind::Delta => Kind::Delta,
        },
        base: req.base.as_deref().map(digest).transpose()?,
    };
    if expect.kind == Kind::Delta && expect.base.is_none() {
        return Err(GuestError::Other(
            "a delta names the full pass it applies to".into(),
        ));
    }
    let key = name.to_string();
    // One listener per volume at a time: two streams must never write one disk.
    let mut receives = streams.receives.lock().unwrap_or_else(|p| p.into_inner());
    if receives.get(&key) == Some(&ReceiveStatus::Waiting) {
        return Err(GuestError::State {
            name: key,
            state: "receiving".into(),
            why: "a stream into its volume is already awaited",
        });
    }
    let (file, size) = guests.open_volume(name.as_str(), true)?;
    let listener = TcpListener::bind(("0.0.0.0", 0)).map_err(|source| GuestError::Io {
        path: "listener".into(),
        source,
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    receives.insert(key.clone(), ReceiveStatus::Waiting);
    drop(receives);
    let streams = Arc::clone(streams);
    std::thread::spawn(move || {
        let outcome = accept_one(&listener, &file, size, &expect);
        let status = match outcome {
            Ok(r) => ReceiveStatus::Verified {
                digest: format!("{:032x}", r.digest),
                data_bytes: r.data_bytes,
                zero_bytes: r.zero_bytes,
            },
            Err(error) => ReceiveStatus::Failed { error },
        };
        streams
            .receives
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, status);
    });
    Ok(Listening { port })
}

fn accept_one(
    listener: &TcpListener,
    file: &std::fs::File,
    size: u64,
    expect: &Expect,
) -> Result<volume::Received, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let deadline = Instant::now() + ACCEPT;
    let mut refused = Vec::new();
    loop {
        let (mut conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(format!(
                        "no stream arrived within {} s{}",
                        ACCEPT.as_secs(),
                        refused_note(&refused)
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(format!("accepting the stream: {e}")),
        };
        let _ = conn.set_nonblocking(false);
        tune(&conn).map_err(|e| format!("{peer}: {e}"))?;
        match volume::receive(&mut conn, file, size, expect) {
            Ok(r) => {
                file.sync_all()
                    .map_err(|e| format!("syncing the volume: {e}"))?;
                return Ok(r);
            }
            // Refused before anything was written: wait for the one that was invited.
            Err(e @ (StreamError::Token | StreamError::Magic | StreamError::Version(_)))
                if refused.len() < MAX_REFUSED =>
            {
                refused.push(format!("{peer}: {e}"));
            }
            Err(e) => return Err(format!("from {peer}: {e}{}", refused_note(&refused))),
        }
    }
}

fn refused_note(refused: &[String]) -> String {
    if refused.is_empty() {
        String::new()
    } else {
        format!(" (refused {}: {})", refused.len(), refused.join("; "))
    }
}

pub fn status(streams: &Streams, name: &str) -> ReceiveStatus {
    streams
        .receives
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
        .cloned()
        .unwrap_or(ReceiveStatus::Waiting)
}

/// Sends the guest's volume to `req.to`. A full pass snapshots the running guest and streams
/// the snapshot (kept for the delta); a delta needs the guest stopped and streams the chunks
/// its exception table lists, then drops the snapshot. A failed pass drops the snapshot too,
/// so that the guest runs on here as before.
pub fn send(
    guests: &Guests,
    streams: &Streams,
    name: &str,
    req: &Send,
) -> Result<SendReport, GuestError> {
    let _g = guests.exclusive();
    let (name, _) = guests.definition(name)?;
    let snap = move_snapshot(&name);
    let token = token(&req.token)?;
    let started = Instant::now();
    let connect = |to: SocketAddr| -> Result<TcpStream, GuestError> {
        let c = TcpStream::connect_timeout(&to, Duration::from_secs(10))
            .and_then(|c| tune(&c).map(|()| c))
            .map_err(|e| GuestError::Other(format!("connecting to {to}: {e}")))?;
        Ok(c)
    };
    let vg = &guests.vg;
    let sent = match req.kind {
        StreamKind::Full => {
            if vg.has_volume(&snap)? {
                vg.remove_volume(&snap)?;
            }
            let size = vg.volume_size(name.as_str())?;
            // The snapshot holds what the guest writes during the full pass: a fifth of the
            // volume, at least 256 MiB, never more than the group has free.
            let cow = (size / 5).max(256 << 20).min(vg.free()?);
            if cow < 64 << 20 {
                return Err(GuestError::Other(format!(
                    "{} has {} MiB free: too little for the snapshot of a move",
                    vg.name(),
                    cow >> 20
                )));
            }
            vg.snapshot(name.as_str(), &snap, cow)?;
            let sent = guests.open_volume(&snap, false).and_then(|(file, size)| {
                let mut conn = connect(req.to)?;
                volume::send_full(&mut conn, &file, size, &token, Compression::default())
                    .map_err(|e| GuestError::Other(e.to_string()))
            });
            if sent.is_ok() {
                sent
            } else {
                let _ = vg.remove_volume(&snap);
                sent
            }
        }
        StreamKind::Delta => {
            guests.require_stopped(&name, "a delta is sent once the guest has stopped")?;
            let base = streams
                .full_sent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(name.as_str())
                .copied()
                .ok_or_else(|| {
                    GuestError::Other(format!("no full pass of {name} was sent from here"))
                })?;
            if !vg.has_volume(&snap)? {
                return Err(GuestError::Other(format!(
                    "{name} has no move snapshot: send the full pass first"
                )));
            }
            let sent = delta(guests, &name, &snap, base, &token, connect(req.to));
            let _ = vg.remove_volume(&snap);
            sent
        }
    }?;
    let mut full = streams.full_sent.lock().unwrap_or_else(|p| p.into_inner());
    match req.kind {
        StreamKind::Full => full.insert(name.to_string(), sent.digest),
        StreamKind::Delta => full.remove(name.as_str()),
    };
    Ok(SendReport {
        size: sent.size,
        data_bytes: sent.data_bytes,
        zero_bytes: sent.zero_bytes,
        wire_bytes: sent.wire_bytes,
        digest: format!("{:032x}", sent.digest),
        millis: started.elapsed().as_millis() as u64,
    })
}

fn delta(
    guests: &Guests,
    name: &metal_xen::domu::GuestName,
    snap: &str,
    base: u128,
    token: &Token,
    conn: Result<TcpStream, GuestError>,
) -> Result<volume::Sent, GuestError> {
    let cow_path = guests.vg.cow_path(snap);
    let mut cow = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(&cow_path)
        .map_err(|source| GuestError::Io {
            path: cow_path.clone(),
            source,
        })?;
    let cow_bytes = cow
        .seek(SeekFrom::End(0))
        .map_err(|source| GuestError::Io {
            path: cow_path.clone(),
            source,
        })?;
    let (origin, size) = guests.open_volume(name.as_str(), false)?;
    let exceptions = Exceptions::read(&cow, cow_bytes, size)
        .map_err(|e| GuestError::Other(format!("{}: {e}", cow_path.display())))?;
    let changed = exceptions.changed_ranges(size);
    let mut conn = conn?;
    volume::send_delta(
        &mut conn,
        &origin,
        size,
        base,
        changed,
        token,
        Compression::default(),
    )
    .map_err(|e| GuestError::Other(e.to_string()))
}
