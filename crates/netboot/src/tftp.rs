//! The read-only TFTP server: `async-tftp` (RFC 1350; options RFC 2347 with `blksize` RFC 2348,
//! `timeout`/`tsize` RFC 2349 and `windowsize` RFC 7440) with our own [`SafeDir`] handler.
//!
//! RFC 1350 §1 leaves access control to the server; ours is: only regular files whose real path
//! (symlinks resolved) lies below the root are read, and every write request is refused.

use std::fs::File;
use std::io::BufReader;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use async_tftp::packet;
use async_tftp::server::{Handler, TftpServer, TftpServerBuilder};
use futures::future::Either;
use futures::io::AllowStdIo;
use tracing::{info, warn};

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
    /// Serving failed.
    #[error("TFTP server: {0}")]
    Server(#[from] async_tftp::Error),
}

/// Serves regular files below one directory, read-only.
#[derive(Debug, Clone)]
pub struct SafeDir {
    root: PathBuf,
}

impl SafeDir {
    /// A handler for `root` (resolved once, here).
    pub fn new(root: &Path) -> Result<SafeDir, TftpError> {
        let err = |source| TftpError::Root {
            path: root.to_path_buf(),
            source,
        };
        let root = std::fs::canonicalize(root).map_err(err)?;
        if !root.is_dir() {
            return Err(err(std::io::Error::other("not a directory")));
        }
        Ok(SafeDir { root })
    }

    /// The real path of `requested`, or the TFTP error to send. Only plain relative names are
    /// accepted (no `..`, no `.`, no leading `/`); the result, with symlinks resolved, must still
    /// be a regular file below the root.
    pub fn resolve(&self, requested: &Path) -> Result<PathBuf, packet::Error> {
        let mut parts = requested.components().peekable();
        if parts.peek().is_none() {
            return Err(packet::Error::FileNotFound);
        }
        if !parts.all(|c| matches!(c, Component::Normal(_))) {
            return Err(packet::Error::PermissionDenied);
        }
        let real = std::fs::canonicalize(self.root.join(requested))
            .map_err(|_| packet::Error::FileNotFound)?;
        if !real.starts_with(&self.root) {
            return Err(packet::Error::PermissionDenied);
        }
        if !real.is_file() {
            return Err(packet::Error::FileNotFound);
        }
        Ok(real)
    }
}

/// Files are read synchronously through a 64 KiB buffer: boot files sit in the page cache, and a
/// hop to a blocking thread pool per read costs more than the read (the benchmark showed it).
type Reader = AllowStdIo<BufReader<File>>;

impl Handler for SafeDir {
    type Reader = Reader;
    type Writer = futures::io::Sink;

    async fn read_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
    ) -> Result<(Self::Reader, Option<u64>), packet::Error> {
        let opened = self.resolve(path).and_then(|real| {
            let file = File::open(&real).map_err(|_| packet::Error::FileNotFound)?;
            let len = file.metadata().map(|m| m.len()).ok();
            Ok((
                AllowStdIo::new(BufReader::with_capacity(64 * 1024, file)),
                len,
            ))
        });
        match &opened {
            Ok((_, len)) => info!(
                "tftp: {client} read {} ({} bytes)",
                path.display(),
                len.unwrap_or(0)
            ),
            Err(e) => warn!("tftp: {client} read {}: refused ({e:?})", path.display()),
        }
        opened
    }

    /// RFC 1350 §8 error code 2, "Access violation": this server never writes.
    async fn write_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
        _size: Option<u64>,
    ) -> Result<Self::Writer, packet::Error> {
        warn!(
            "tftp: {client} write {}: refused (read-only)",
            path.display()
        );
        Err(packet::Error::PermissionDenied)
    }
}

/// The read-only TFTP server, on a thread of its own that drives its I/O itself
/// (`async_io::block_on`). `async-tftp` is built on `async-io`, whose reactor is one per process:
/// polled from a tokio task, every packet costs a wake-up across threads, and several server
/// threads on one port (`SO_REUSEPORT`) contend for that reactor; both measured slower than this.
pub struct TftpService {
    server: TftpServer<SafeDir>,
    addr: SocketAddr,
}

/// Binds a read-only TFTP server for `root` on `listen`. Clients may negotiate any block size
/// up to the RFC 2348 maximum and any window size (RFC 7440).
pub async fn bind(root: &Path, listen: SocketAddr) -> Result<TftpService, TftpError> {
    bind_with(root, listen, false).await
}

/// Like [`bind`]; with `reuse_port`, the socket is bound with `SO_REUSEPORT` so that several
/// processes (each with its own `async-io` reactor) can serve one port: the kernel spreads
/// requests over them by client address, and every transfer then runs in the process that
/// received its request (the process-per-transfer parallelism in.tftpd gets by forking).
pub async fn bind_with(
    root: &Path,
    listen: SocketAddr,
    reuse_port: bool,
) -> Result<TftpService, TftpError> {
    let handler = SafeDir::new(root)?;
    let bind_err = |source| TftpError::Bind {
        addr: listen,
        source,
    };
    let socket = udp_socket(listen, reuse_port).map_err(bind_err)?;
    let addr = socket.local_addr().map_err(bind_err)?;
    let server = TftpServerBuilder::with_handler(handler)
        .std_socket(socket)?
        .timeout(Duration::from_secs(2))
        .max_send_retries(10)
        .build()
        .await?;
    Ok(TftpService { server, addr })
}

fn udp_socket(listen: SocketAddr, reuse_port: bool) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&listen.into())?;
    Ok(socket.into())
}

impl TftpService {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the server fails. Dropping the future stops the server thread.
    pub async fn serve(self) -> Result<(), TftpError> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
        let server = self.server;
        std::thread::Builder::new()
            .name("tftp".into())
            .spawn(move || {
                let serve = Box::pin(server.serve());
                let result = match async_io::block_on(futures::future::select(serve, stop_rx)) {
                    Either::Left((r, _)) => r.map_err(TftpError::from),
                    Either::Right(_) => Ok(()),
                };
                let _ = done_tx.send(result);
            })
            .map_err(|source| TftpError::Bind {
                addr: self.addr,
                source,
            })?;
        let result = done_rx.await.unwrap_or(Ok(()));
        drop(stop_tx);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_everything_outside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/file"), "ok").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink("sub/file", root.join("inside")).unwrap();
        let h = SafeDir::new(&root).unwrap();
        assert!(h.resolve(Path::new("sub/file")).is_ok());
        assert!(
            h.resolve(Path::new("inside")).is_ok(),
            "symlinks within the root are fine"
        );
        let denied = |p: &str| {
            matches!(
                h.resolve(Path::new(p)),
                Err(packet::Error::PermissionDenied)
            )
        };
        assert!(denied("../root/sub/file"));
        assert!(denied("sub/../../secret"));
        assert!(denied("/etc/passwd"));
        assert!(denied("./sub/file"));
        assert!(denied("escape"), "symlink leading out");
        let missing = |p: &str| matches!(h.resolve(Path::new(p)), Err(packet::Error::FileNotFound));
        assert!(missing("sub"), "directories are not files");
        assert!(missing("nope"));
        assert!(missing(""));
    }
}
