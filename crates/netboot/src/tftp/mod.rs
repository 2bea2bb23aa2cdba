//! The read-only TFTP server: RFC 1350, with the option extension of RFC 2347 and the options
//! `blksize` (RFC 2348), `timeout` and `tsize` (RFC 2349) and `windowsize` (RFC 7440).
//!
//! One thread listens on the well-known port; every read runs on a thread and a port of its own
//! ([`transfer`]), as tftp-hpa runs a process per transfer. Only regular files below the root
//! are read ([`SafeRoot`], shared with HTTP), every write request is refused, and no client address
//! holds more than [`MAX_PER_SOURCE`] transfers, so one flooding host cannot lock others out.
//!
//! Why not `async-tftp`: it served every file correctly but could not keep up with tftp-hpa in
//! lock-step (its transfers share one reactor and pay a registration and a timer per ACK);
//! BENCHMARKS.md, "TFTP", has both measurements.

pub mod packet;
mod transfer;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, Read};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use metal_types::text::Escaped;

use crate::safe_root::{Refusal, SafeRoot};

pub use packet::ErrorCode;
use packet::{Mode, Options, Request, RequestError};
use transfer::{Netascii, Params, Peer, TransferError, TransferFlags};

/// Wait for an ACK before sending again, unless the client asks for another `timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Sends of one window before a transfer is given up.
const ATTEMPTS: u32 = 10;
/// Largest `windowsize` granted, whatever the block size.
const MAX_WINDOWSIZE: u16 = 64;
/// Transfers at once; a request beyond gets ERROR 0 "server busy" and can be retried.
pub const MAX_TRANSFERS: usize = 512;
/// Transfers one client address may run at once: a PXE client fetches one file at a time, so
/// this leaves room for several clients behind one address and none for a flood.
pub const MAX_PER_SOURCE: usize = 16;
/// Largest `timeout` option granted (RFC 2349 §3: a server that does not accept the value
/// leaves the option out, and the default applies); with [`ATTEMPTS`] it bounds how long a
/// silent client holds a transfer.
const MAX_TIMEOUT: u8 = 15;
/// Bytes a window may hold: larger `windowsize` requests get a smaller window (RFC 7440 §3
/// lets the server answer a smaller value).
const MAX_WINDOW_BYTES: usize = 1024 * 1024;
/// How often the listener looks whether the server is stopping.
const STOP_POLL: Duration = Duration::from_millis(200);
/// Read buffer per transfer: boot files sit in the page cache.
const READ_BUFFER: usize = 64 * 1024;

/// The TFTP server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TftpError {
    /// The root is not a readable directory.
    #[error("TFTP root {path}: {source}")]
    Root {
        /// The root.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The listening socket could not be set up.
    #[error("TFTP socket {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The listening socket failed while serving.
    #[error("TFTP server on {addr}: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound, not yet running, read-only TFTP server.
pub struct TftpService {
    socket: UdpSocket,
    addr: SocketAddr,
    dir: SafeRoot,
}

/// Binds a read-only TFTP server for `root` on `listen` (port 0 picks one). Clients may
/// negotiate any valid block size and a window of up to 64 blocks.
pub fn bind(root: &Path, listen: SocketAddr) -> Result<TftpService, TftpError> {
    let dir = SafeRoot::open(root).map_err(|source| TftpError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    let bind_err = |source| TftpError::Bind {
        addr: listen,
        source,
    };
    let socket = UdpSocket::bind(listen).map_err(bind_err)?;
    socket.set_read_timeout(Some(STOP_POLL)).map_err(bind_err)?;
    let addr = socket.local_addr().map_err(bind_err)?;
    Ok(TftpService { socket, addr, dir })
}

/// Sets the stop flag when the serving future is dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl TftpService {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the listening socket fails. Dropping the future stops the listener within
    /// 0.2 s; a running transfer stops when its next ACK or timeout comes.
    pub async fn serve(self) -> Result<(), TftpError> {
        let stop = Arc::new(AtomicBool::new(false));
        let _guard = StopOnDrop(stop.clone());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let addr = self.addr;
        let listener = Listener {
            socket: self.socket,
            addr,
            shared: Arc::new(Shared {
                dir: self.dir,
                stop,
                transfers: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                running: AtomicUsize::new(0),
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            }),
        };
        std::thread::Builder::new()
            .name("tftp".into())
            .spawn(move || {
                let _ = done_tx.send(listener.run());
            })
            .map_err(|source| TftpError::Serve { addr, source })?;
        done_rx.await.unwrap_or(Ok(()))
    }
}

/// What the listener and the transfers share.
struct Shared {
    dir: SafeRoot,
    stop: Arc<AtomicBool>,
    /// The latest transfer of each client address.
    transfers: Mutex<HashMap<SocketAddr, Running>>,
    next_id: AtomicU64,
    /// Transfer threads running now.
    running: AtomicUsize,
    /// CPUs this process may use.
    cpus: usize,
}

/// A transfer as the listener knows it.
struct Running {
    /// A digest of the request that started it.
    digest: u64,
    id: u64,
    /// Its flags, shared with its thread.
    flags: Arc<TransferFlags>,
}

impl Shared {
    fn transfers(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Running>> {
        // A transfer thread cannot panic while holding the lock (it only inserts and removes).
        self.transfers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Listener {
    socket: UdpSocket,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Listener {
    fn run(self) -> Result<(), TftpError> {
        info!("tftp: serving on {}", self.addr);
        let mut buf = [0u8; 2048];
        while !self.shared.stop.load(Ordering::Relaxed) {
            let (n, client) = match self.socket.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(source) => {
                    return Err(TftpError::Serve {
                        addr: self.addr,
                        source,
                    });
                }
            };
            self.request(client, &buf[..n]);
        }
        Ok(())
    }

    fn refuse(&self, client: SocketAddr, code: ErrorCode, message: &str) {
        let _ = self.socket.send_to(&packet::error(code, message), client);
    }

    fn request(&self, client: SocketAddr, datagram: &[u8]) {
        let req = match packet::parse_request(datagram) {
            Ok(req) => req,
            Err(e @ RequestError::Mode(_)) => {
                warn!("tftp: {client}: {e}");
                return self.refuse(client, ErrorCode::IllegalOperation, &e.to_string());
            }
            Err(e) => return debug!("tftp: {client}: ignored: {e}"),
        };
        if req.write {
            warn!(
                "tftp: {client} write {}: refused (read-only)",
                Escaped(&req.filename.to_string_lossy())
            );
            // RFC 1350 §5 error code 2, "Access violation": this server never writes.
            return self.refuse(client, ErrorCode::AccessViolation, "read-only server");
        }
        let digest = {
            let mut h = DefaultHasher::new();
            datagram.hash(&mut h);
            h.finish()
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let flags = Arc::new(TransferFlags::default());
        {
            let mut transfers = self.shared.transfers();
            if let Some(old) = transfers.get(&client) {
                // The same request before the client answered anything is a resend (the first
                // answer is on its way); otherwise the client started over (a new request, or
                // the same one after a reset or an abort): the old transfer is cancelled.
                if old.digest == digest && !old.flags.answered.load(Ordering::Relaxed) {
                    return debug!("tftp: {client}: request resent while its transfer starts");
                }
                old.flags.cancel.store(true, Ordering::Relaxed);
            }
            if self.shared.running.load(Ordering::Relaxed) >= MAX_TRANSFERS {
                warn!("tftp: {client}: refused, too many transfers running");
                return self.refuse(client, ErrorCode::NotDefined, "server busy, try again");
            }
            if from_source(&transfers, client.ip()) >= MAX_PER_SOURCE {
                warn!(
                    "tftp: {client}: refused, {MAX_PER_SOURCE} transfers from {} already running",
                    client.ip()
                );
                return self.refuse(
                    client,
                    ErrorCode::NotDefined,
                    "too many transfers from this address, try again",
                );
            }
            transfers.insert(
                client,
                Running {
                    digest,
                    id,
                    flags: flags.clone(),
                },
            );
        }
        let shared = self.shared.clone();
        let local = self.addr;
        shared.running.fetch_add(1, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("tftp-transfer".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                serve_read(&shared, &flags, local, client, &req);
                shared.running.fetch_sub(1, Ordering::Relaxed);
                let mut transfers = shared.transfers();
                if transfers.get(&client).is_some_and(|r| r.id == id) {
                    transfers.remove(&client);
                }
            });
        if let Err(e) = spawned {
            warn!("tftp: {client}: cannot start a transfer: {e}");
            self.shared.running.fetch_sub(1, Ordering::Relaxed);
            self.shared.transfers().remove(&client);
            self.refuse(client, ErrorCode::NotDefined, "server busy, try again");
        }
    }
}

/// Transfers running for `ip` (over every port: a flood uses a new port per request). At most
/// [`MAX_TRANSFERS`] entries, so counting is cheaper than keeping a second map in step.
fn from_source(transfers: &HashMap<SocketAddr, Running>, ip: IpAddr) -> usize {
    transfers
        .iter()
        .filter(|(addr, r)| addr.ip() == ip && !r.flags.cancel.load(Ordering::Relaxed))
        .count()
}

/// The parameters for a request and the options to acknowledge (RFC 2347 §2: only those the
/// server accepts, with the values it will use).
fn negotiate(asked: &Options, size: Option<u64>) -> (Params, Vec<(&'static str, u64)>) {
    let mut params = Params {
        blksize: packet::DEFAULT_BLKSIZE,
        windowsize: 1,
        timeout: DEFAULT_TIMEOUT,
        attempts: ATTEMPTS,
    };
    let mut oack = Vec::new();
    if let Some(b) = asked.blksize {
        params.blksize = b;
        oack.push(("blksize", u64::from(b)));
    }
    if let Some(t) = asked.timeout.filter(|t| *t <= MAX_TIMEOUT) {
        params.timeout = Duration::from_secs(u64::from(t));
        oack.push(("timeout", u64::from(t)));
    }
    // RFC 2349 §4: the client sends tsize 0 in a read request and learns the size. Unknown
    // sizes (netascii changes the length) leave the option out.
    if let (Some(0), Some(size)) = (asked.tsize, size) {
        oack.push(("tsize", size));
    }
    if let Some(w) = asked.windowsize {
        let fits = (MAX_WINDOW_BYTES / usize::from(params.blksize)).max(1);
        params.windowsize = w.min(MAX_WINDOWSIZE).min(fits as u16);
        oack.push(("windowsize", u64::from(params.windowsize)));
    }
    (params, oack)
}

/// Runs one read transfer to its end and logs how it went.
fn serve_read(
    shared: &Shared,
    flags: &TransferFlags,
    local: SocketAddr,
    client: SocketAddr,
    req: &Request,
) {
    let name = req.filename.to_string_lossy();
    let name = Escaped(&name);
    let socket = match transfer::socket_for(local, client, DEFAULT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return warn!("tftp: {client} read {name}: no transfer socket: {e}"),
    };
    let peer = Peer {
        socket: &socket,
        stop: &shared.stop,
        flags,
        running: &shared.running,
        cpus: shared.cpus,
    };
    let (file, size) = match shared.dir.file(&req.filename) {
        Ok((f, len)) => (f, Some(len)),
        Err(refusal) => {
            let (code, why) = match refusal {
                Refusal::Outside => (ErrorCode::AccessViolation, "outside the TFTP root"),
                Refusal::NotFound => (ErrorCode::FileNotFound, "no such file"),
            };
            warn!("tftp: {client} read {name}: refused, {why}");
            return peer.send_error(code, why);
        }
    };
    let buffered = BufReader::with_capacity(READ_BUFFER, file);
    let (mut source, size): (Box<dyn Read>, _) = match req.mode {
        Mode::Octet => (Box::new(buffered), size),
        Mode::Netascii => (Box::new(Netascii::new(buffered)), None),
    };
    let (params, oack) = negotiate(&req.options, size);
    if params.timeout != DEFAULT_TIMEOUT
        && let Err(e) = socket.set_read_timeout(Some(params.timeout))
    {
        return warn!("tftp: {client} read {name}: {e}");
    }
    info!(
        "tftp: {client} read {name} ({} bytes, blksize {}, windowsize {})",
        size.map_or("?".to_string(), |s| s.to_string()),
        params.blksize,
        params.windowsize
    );
    let started = Instant::now();
    let result = if oack.is_empty() {
        Ok(())
    } else {
        peer.send_oack(&packet::oack(&oack), &params)
    }
    .and_then(|()| peer.send_file(&mut source, &params));
    match result {
        Ok(sent) => info!(
            "tftp: {client} read {name}: done, {} bytes in {:.2} s ({} packets)",
            sent.bytes,
            started.elapsed().as_secs_f64(),
            sent.packets
        ),
        Err(TransferError::Stopped) => {
            debug!("tftp: {client} read {name}: server stopping");
            peer.send_error(ErrorCode::NotDefined, "server stopping");
        }
        Err(TransferError::Cancelled) => info!("tftp: {client} read {name}: client started over"),
        Err(TransferError::Gone) => info!("tftp: {client} read {name}: client went away"),
        // PXE ROMs often ask for tsize, then abort and ask again: a client's ERROR is normal.
        Err(e @ TransferError::Client { .. }) => info!("tftp: {client} read {name}: {e}"),
        Err(TransferError::Io(e)) => {
            warn!("tftp: {client} read {name}: failed: {e}");
            peer.send_error(ErrorCode::NotDefined, "read failed");
        }
        Err(e) => warn!("tftp: {client} read {name}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A running server for a root holding `file` (2000 bytes: four 512-byte blocks).
    async fn server() -> (tempfile::TempDir, SocketAddr) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), [7u8; 2000]).unwrap();
        let service = bind(dir.path(), "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = service.local_addr();
        tokio::spawn(service.serve());
        (dir, addr)
    }

    /// The next DATA packet: its block number and the port it came from.
    async fn data(c: &tokio::net::UdpSocket) -> (u16, SocketAddr) {
        let mut buf = [0u8; 600];
        let (n, from) = tokio::time::timeout(Duration::from_secs(3), c.recv_from(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        assert!(n >= 4 && buf[1] == 3, "DATA expected: {:?}", &buf[..n]);
        (u16::from_be_bytes([buf[2], buf[3]]), from)
    }

    #[tokio::test]
    async fn a_resent_request_is_ignored_until_the_client_acknowledges_then_restarts() {
        let (_dir, addr) = server().await;
        let c = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rrq = b"\x00\x01file\x00octet\x00";
        c.send_to(rrq, addr).await.unwrap();
        c.send_to(rrq, addr).await.unwrap();
        let (block, first) = data(&c).await;
        assert_eq!(block, 1);
        // The resend started nothing: the next packet is block 1 again only after the
        // server's 1 s timeout, and from the same port.
        let (block, port) = data(&c).await;
        assert_eq!(
            (block, port),
            (1, first),
            "one transfer for a resent request"
        );
        c.send_to(&[0, 4, 0, 1], first).await.unwrap();
        assert_eq!(data(&c).await, (2, first));
        // The client started over (e.g. a reset PXE ROM): a fresh transfer from a new port.
        c.send_to(rrq, addr).await.unwrap();
        let (block, second) = data(&c).await;
        assert_eq!(block, 1);
        assert_ne!(second, first, "a new transfer ID");
        for b in 1..=4u16 {
            c.send_to(&[0, 4, 0, b as u8], second).await.unwrap();
            if b < 4 {
                assert_eq!(data(&c).await, (b + 1, second));
            }
        }
    }

    #[test]
    fn negotiation_acknowledges_what_it_grants() {
        let asked = Options {
            blksize: Some(1468),
            timeout: Some(3),
            tsize: Some(0),
            windowsize: Some(500),
        };
        let (params, oack) = negotiate(&asked, Some(70_000));
        assert_eq!(params.blksize, 1468);
        assert_eq!(params.timeout, Duration::from_secs(3));
        assert_eq!(params.windowsize, MAX_WINDOWSIZE);
        assert_eq!(
            oack,
            vec![
                ("blksize", 1468),
                ("timeout", 3),
                ("tsize", 70_000),
                ("windowsize", 64)
            ]
        );
        let (params, oack) = negotiate(&Options::default(), Some(1));
        assert_eq!((params.blksize, params.windowsize), (512, 1));
        assert!(oack.is_empty(), "no options asked, no OACK (RFC 2347)");
        let netascii = Options {
            tsize: Some(0),
            ..Options::default()
        };
        assert!(negotiate(&netascii, None).1.is_empty());
        // Bounds: a long timeout is not acknowledged (the default applies), and big blocks
        // get a window that fits MAX_WINDOW_BYTES.
        let greedy = Options {
            blksize: Some(65464),
            timeout: Some(255),
            windowsize: Some(64),
            ..Options::default()
        };
        let (params, oack) = negotiate(&greedy, Some(1));
        assert_eq!(params.timeout, DEFAULT_TIMEOUT);
        assert_eq!(params.windowsize, 16);
        assert_eq!(oack, vec![("blksize", 65464), ("windowsize", 16)]);
    }
}
