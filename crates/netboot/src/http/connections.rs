//! Accepting HTTP connections without letting clients hold the server's descriptors.
//!
//! Every connection costs a descriptor (two while it sends a file), and DHCP and TFTP draw on
//! the same process limit, so HTTP takes at most [`Limits::total`] connections, computed from
//! the descriptor limit with room kept for the others, and at most [`Limits::per_source`] from
//! one address. A connection past either cap is closed at once. A client must send each
//! request's headers within [`Limits::header_timeout`] (hyper's `header_read_timeout`, against
//! slow-header clients), and a connection on which nothing moves for [`Limits::idle_timeout`]
//! is closed (idle keep-alive, stalled readers).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;
use tracing::{debug, warn};

use crate::config::HttpConfig;

/// Descriptors kept for everything but HTTP: the TFTP server's transfers (a socket and a file
/// each), DHCP and TFTP listeners, the inventory's connections, logs.
const RESERVED_FDS: u64 = 2 * crate::tftp::MAX_TRANSFERS as u64 + 256;

/// The caps and timeouts of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub total: usize,
    /// Connections open at once from one address.
    pub per_source: usize,
    /// Time to send a request's headers.
    pub header_timeout: Duration,
    /// Time without a byte moving before a connection is closed.
    pub idle_timeout: Duration,
}

impl Limits {
    /// The limits of `http`; the total defaults to half the descriptors left after
    /// [`RESERVED_FDS`] (each connection may hold a socket and a file), between 16 and 8192,
    /// with the soft limit raised to the hard one first.
    pub fn from_config(http: &HttpConfig) -> Limits {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        Limits {
            total: http.max_connections.unwrap_or_else(|| {
                let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(s, _)| s);
                usize::try_from(soft.saturating_sub(RESERVED_FDS) / 2)
                    .unwrap_or(usize::MAX)
                    .clamp(16, 8192)
            }),
            per_source: http.max_connections_per_source,
            header_timeout: Duration::from_secs(http.header_timeout_secs),
            idle_timeout: Duration::from_secs(http.idle_timeout_secs),
        }
    }
}

/// Open connections, by source.
#[derive(Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// A connection's place in [`Open`], given back on drop.
struct Slot {
    open: Arc<Mutex<Open>>,
    source: IpAddr,
}

impl Slot {
    fn take(open: &Arc<Mutex<Open>>, source: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
        let from_source = o.by_source.get(&source).copied().unwrap_or(0);
        if o.total >= limits.total || from_source >= limits.per_source {
            return None;
        }
        o.total += 1;
        o.by_source.insert(source, from_source + 1);
        Some(Slot {
            open: open.clone(),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(|p| p.into_inner());
        o.total -= 1;
        if let Some(n) = o.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                o.by_source.remove(&self.source);
            }
        }
    }
}

/// Serves `router` on `listener` under `limits` until accepting fails for good.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits) -> io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    let refusals = Refusals::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if transient(&e) => {
                refusals.note(format_args!("http: accept: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(slot) = Slot::take(&open, peer.ip(), &limits) else {
            refusals.note(format_args!(
                "http: {peer}: connection refused, at the cap ({} in all, {} per address)",
                limits.total, limits.per_source
            ));
            continue;
        };
        tokio::spawn(connection(stream, peer, router.clone(), limits, slot));
    }
}

/// Accept errors that pass (descriptors exhausted for a moment, a client that gave up).
fn transient(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(e),
        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)
    ) || matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Logs refusals at most once a second, with how many were not shown.
#[derive(Default)]
struct Refusals {
    last_ms: AtomicU64,
    unshown: AtomicU64,
}

impl Refusals {
    fn note(&self, what: std::fmt::Arguments<'_>) {
        let now = uptime_ms();
        let last = self.last_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 1000 && last != 0 {
            self.unshown.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.last_ms.store(now.max(1), Ordering::Relaxed);
        match self.unshown.swap(0, Ordering::Relaxed) {
            0 => warn!("{what}"),
            n => warn!("{what} (and {n} more in the last second)"),
        }
    }
}

static START: LazyLock<Instant> = LazyLock::new(Instant::now);

fn uptime_ms() -> u64 {
    u64::try_from(START.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    _slot: Slot,
) {
    let last = Arc::new(AtomicU64::new(uptime_ms()));
    let io = TokioIo::new(Tracked {
        inner: stream,
        last: last.clone(),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(request)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval((limits.idle_timeout / 4).max(Duration::from_millis(50)));
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    debug!("http: {peer}: {e}");
                }
                return;
            }
            _ = tick.tick() => {
                if uptime_ms().saturating_sub(last.load(Ordering::Relaxed)) >= idle_ms {
                    debug!("http: {peer}: closed after {} s idle", limits.idle_timeout.as_secs());
                    return;
                }
            }
        }
    }
}

/// A stream that notes when a byte last moved.
struct Tracked {
    inner: TcpStream,
    last: Arc<AtomicU64>,
}

impl Tracked {
    fn moved(&self) {
        self.last.store(uptime_ms(), Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_respect_both_caps_and_come_back_on_drop() {
        let limits = Limits {
            total: 3,
            per_source: 2,
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
        };
        let open = Arc::new(Mutex::new(Open::default()));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = Slot::take(&open, a, &limits).unwrap();
        let _a2 = Slot::take(&open, a, &limits).unwrap();
        assert!(Slot::take(&open, a, &limits).is_none(), "per source");
        let _b1 = Slot::take(&open, b, &limits).unwrap();
        assert!(Slot::take(&open, b, &limits).is_none(), "in all");
        drop(a1);
        assert!(Slot::take(&open, b, &limits).is_some());
    }
}
