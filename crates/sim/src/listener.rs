//! Listening sockets: one task per listener, one task per connection. A listener closes
//! while its board has `Fault::Refuse` (so connects are refused) and binds again after. The
//! redirection (SOL) listeners also close while `AMT_RedirectionService.ListenerEnabled` is
//! false: amt-protocol.md §2a tells clients to check "reachable (a TCP connect to
//! 16994/16995)" apart from "enabled", so a disabled listener is a closed port.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::board::{Board, Fault};
use crate::http;
use crate::sol::session;

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// WS-Man over HTTP (16992/16993).
    Wsman,
    /// The redirection protocol (16994/16995).
    Sol,
}

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds a listening socket with SO_REUSEADDR, so a listener closed by `Fault::Refuse` can
/// bind again at once.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Runs one listener until shutdown.
pub(crate) async fn run(
    board: Arc<Board>,
    addr: SocketAddr,
    (service, tls): (Service, bool),
    first: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut faults = board.fault.subscribe();
    let mut gate = board.sol_listener.subscribe();
    let mut listener = Some(first);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let gated = service == Service::Sol && !*gate.borrow_and_update();
        let refusing = *faults.borrow_and_update() == Fault::Refuse || gated;
        match (&listener, refusing) {
            (Some(_), true) => listener = None,
            (None, false) => match bind(addr) {
                Ok(l) => listener = Some(l),
                Err(_) => {
                    // The address may still be in use for a moment; try again shortly.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            },
            _ => {}
        }
        let Some(l) = &listener else {
            tokio::select! {
                changed = faults.changed() => if changed.is_err() { return },
                changed = gate.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => return,
            }
            continue;
        };
        tokio::select! {
            accepted = l.accept() => match accepted {
                Ok((stream, _)) => spawn_connection(&board, stream, (service, tls), shutdown.clone()),
                // Out of file descriptors or a connection reset before accept: back off.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            changed = faults.changed() => if changed.is_err() { return },
            changed = gate.changed() => if changed.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}

fn spawn_connection(
    board: &Arc<Board>,
    stream: TcpStream,
    (service, tls): (Service, bool),
    shutdown: watch::Receiver<bool>,
) {
    let board = Arc::clone(board);
    let _ = stream.set_nodelay(true);
    tokio::spawn(async move {
        if !tls {
            match service {
                Service::Wsman => http::serve(stream, board, shutdown).await,
                Service::Sol => session::serve(stream, board, shutdown).await,
            }
            return;
        }
        let Ok(identity) = board.tls() else {
            return;
        };
        let acceptor = TlsAcceptor::from(identity.config);
        if let Ok(Ok(stream)) =
            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
        {
            match service {
                Service::Wsman => http::serve(stream, board, shutdown).await,
                Service::Sol => session::serve(stream, board, shutdown).await,
            }
        }
    });
}
