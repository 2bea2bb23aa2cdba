//! The DHCP sockets: port 67 (and 4011 in proxy mode), bound to the configured interface, and
//! the loop that feeds [`super::exchange::handle`].

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use dhcproto::Encodable;
use dhcproto::v4::{Message, MessageType};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

use super::client::{self, ClientRequest};
use super::exchange::{self, Context, Pool, Port};
use crate::config::{Config, Mode};
use crate::leases::{LeaseChange, LeaseError, LeaseStore};
use crate::policy::{BootDecision, BootPolicy};

/// The DHCP side cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DhcpError {
    /// A socket could not be set up.
    #[error("DHCP socket {addr}{}: {source}", iface.as_ref().map(|i| format!(" on {i}")).unwrap_or_default())]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The interface.
        iface: Option<String>,
        /// Why.
        source: std::io::Error,
    },
    /// Receiving failed.
    #[error("DHCP socket: {0}")]
    Io(#[from] std::io::Error),
    /// The lease file.
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

/// RFC 2131 §4.1: servers send to port 68, relays listen on 67.
const CLIENT_PORT: u16 = 68;
const SERVER_PORT: u16 = 67;
/// How many times one exchange is computed again after losing an address to another server.
const SHARED_ATTEMPTS: usize = 4;

/// The DHCP/proxyDHCP server, bound and ready to run.
pub struct DhcpServer {
    ctx: Context,
    pool: Mutex<Option<Pool>>,
    /// Where the pool's leases live when servers share the segment.
    shared: Option<Arc<dyn LeaseStore>>,
    policy: Arc<dyn BootPolicy>,
    sockets: Vec<(Port, UdpSocket)>,
    standard_port: bool,
}

impl DhcpServer {
    /// Opens the lease file (or, with `shared`, keeps the leases there) and binds the
    /// sockets. `http_base` is `http://ADDR:PORT` of the HTTP server that serves the scripts.
    pub fn bind(
        config: &Config,
        policy: Arc<dyn BootPolicy>,
        http_base: String,
        shared: Option<Arc<dyn LeaseStore>>,
    ) -> Result<DhcpServer, DhcpError> {
        let reserved = config.hosts.iter().filter_map(|h| h.ip);
        let pool = match (&config.mode, &config.dhcp, &shared) {
            (Mode::Dhcp, Some(d), None) => Some(Pool::open(d.clone(), config.server_ip, reserved)?),
            (Mode::Dhcp, Some(d), Some(_)) => {
                Some(Pool::shared(d.clone(), config.server_ip, reserved))
            }
            _ => None,
        };
        let iface = config.interface.as_deref();
        let mut sockets = vec![(Port::Dhcp, udp_socket(config.ports.dhcp, iface)?)];
        if config.mode == Mode::Proxy {
            sockets.push((Port::Pxe, udp_socket(config.ports.pxe, iface)?));
        }
        Ok(DhcpServer {
            ctx: Context {
                server: config.server_ip,
                http_base,
                files: config.boot_files.clone(),
            },
            pool: Mutex::new(pool),
            shared,
            policy,
            sockets,
            standard_port: config.ports.dhcp == SERVER_PORT,
        })
    }

    /// The bound local addresses (port 67 first, then 4011 in proxy mode).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|(_, s)| s.local_addr().ok())
            .collect()
    }

    /// Serves until a socket fails.
    pub async fn run(self) -> Result<(), DhcpError> {
        let this = Arc::new(self);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..this.sockets.len() {
            let this = this.clone();
            tasks.spawn(async move { this.serve(i).await });
        }
        match tasks.join_next().await {
            Some(Ok(result)) => result,
            Some(Err(join)) => Err(DhcpError::Io(std::io::Error::other(join))),
            None => Ok(()),
        }
    }

    async fn serve(&self, index: usize) -> Result<(), DhcpError> {
        let (port, socket) = &self.sockets[index];
        let mut buf = vec![0u8; 1500];
        loop {
            let (len, src) = socket.recv_from(&mut buf).await?;
            let Some(reply) = self.answer(&buf[..len], *port).await else {
                continue;
            };
            let (msg, bytes) = reply;
            let dest = self.destination(&msg, src, *port);
            if let Err(e) = socket.send_to(&bytes, dest).await {
                warn!("dhcp: sending to {dest}: {e}");
            }
        }
    }

    /// Decodes, decides and encodes; `None` when nothing is to be sent. Malformed input only
    /// produces a debug line.
    async fn answer(&self, bytes: &[u8], port: Port) -> Option<(Message, Vec<u8>)> {
        let (msg, req) = match client::parse(bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                debug!("dhcp: ignoring datagram: {e}");
                return None;
            }
        };
        let decision = match self.policy.decide(req.mac).await {
            Ok(d) => d,
            Err(e) => {
                warn!("dhcp: {} {:?}: {e}; not answered", req.mac, req.kind);
                return None;
            }
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let exchange = match &self.shared {
            None => {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                exchange::handle(&self.ctx, pool.as_mut(), &msg, &req, &decision, port, now)
            }
            Some(store) => {
                self.shared_exchange(store.as_ref(), &msg, &req, &decision, port, now)
                    .await
            }
        };
        let exchange = match exchange {
            Ok(x) => x,
            Err(e) => {
                warn!("dhcp: {} {:?}: {e}; not answered", req.mac, req.kind);
                return None;
            }
        };
        let arch = req
            .arch
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        let who = if req.ipxe {
            "ipxe"
        } else if req.pxe {
            "pxe"
        } else {
            "dhcp"
        };
        info!(
            "dhcp: {} ({who}, arch {arch}) {}",
            req.mac, exchange.summary
        );
        let reply = exchange.reply?;
        match reply.to_vec() {
            Ok(bytes) => Some((reply, bytes)),
            Err(e) => {
                warn!("dhcp: encoding reply to {}: {e}", req.mac);
                None
            }
        }
    }

    /// One exchange against the shared leases: the store's leases in, the exchange computed,
    /// its claims made in the store. A claim another server won meanwhile means the picture
    /// was old: computed again from a fresh one, a few times, then left unanswered (the client
    /// retries).
    async fn shared_exchange(
        &self,
        store: &dyn LeaseStore,
        msg: &Message,
        req: &ClientRequest,
        decision: &BootDecision,
        port: Port,
        now: u64,
    ) -> Result<exchange::Exchange, LeaseError> {
        for _ in 0..SHARED_ATTEMPTS {
            let current = store.load().await?;
            let (exchange, changes) = {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(pool) = pool.as_mut() {
                    pool.leases.replace(current);
                }
                let exchange =
                    exchange::handle(&self.ctx, pool.as_mut(), msg, req, decision, port, now)?;
                let changes = pool
                    .as_mut()
                    .map(|p| p.leases.take_pending())
                    .unwrap_or_default();
                (exchange, changes)
            };
            let mut lost = false;
            for change in changes {
                match change {
                    LeaseChange::Claim(lease) => {
                        if !store.claim(lease, now).await? {
                            lost = true;
                            break;
                        }
                    }
                    LeaseChange::Release { mac, ip } => {
                        store.release(mac, ip).await?;
                    }
                }
            }
            if !lost {
                return Ok(exchange);
            }
        }
        Err(LeaseError::Store(format!(
            "another server took the addresses offered {SHARED_ATTEMPTS} times running"
        )))
    }

    /// RFC 2131 §4.1, "If the 'giaddr' field ... is non-zero, the server sends any return
    /// messages to the 'DHCP server' port on the BOOTP relay agent whose address appears in
    /// 'giaddr'. If the 'giaddr' field is zero and the 'ciaddr' field is nonzero, then the
    /// server unicasts DHCPOFFER and DHCPACK messages to the address in 'ciaddr'. ... In all
    /// cases, when 'giaddr' is zero, the server broadcasts any DHCPNAK messages". Otherwise we
    /// broadcast, which the same section allows when the server cannot unicast to a client
    /// without an address. Port 4011 requests, and servers on a non-standard port (tests),
    /// are answered to where they came from.
    fn destination(&self, reply: &Message, src: SocketAddr, port: Port) -> SocketAddr {
        if port == Port::Pxe || !self.standard_port {
            return src;
        }
        let broadcast = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT));
        if !reply.giaddr().is_unspecified() {
            return SocketAddr::V4(SocketAddrV4::new(reply.giaddr(), SERVER_PORT));
        }
        if reply.opts().has_msg_type(MessageType::Nak) {
            return broadcast;
        }
        if !reply.ciaddr().is_unspecified() {
            return SocketAddr::V4(SocketAddrV4::new(reply.ciaddr(), CLIENT_PORT));
        }
        broadcast
    }
}

/// A UDP socket on `0.0.0.0:port` that may broadcast and, with `iface`, sees and sends only on
/// that interface (`SO_BINDTODEVICE`, which needs root or CAP_NET_RAW).
fn udp_socket(port: u16, iface: Option<&str>) -> Result<UdpSocket, DhcpError> {
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let err = |source| DhcpError::Bind {
        addr,
        iface: iface.map(str::to_string),
        source,
    };
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    s.set_reuse_address(true).map_err(err)?;
    s.set_broadcast(true).map_err(err)?;
    if let Some(i) = iface {
        s.bind_device(Some(i.as_bytes())).map_err(err)?;
    }
    s.set_nonblocking(true).map_err(err)?;
    s.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(s.into()).map_err(err)
}
