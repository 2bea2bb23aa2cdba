/*!
The netboot service of `metal`: DHCP (or proxyDHCP beside a site DHCP server), read-only TFTP,
and HTTP for iPXE scripts, boot images and boot-event callbacks.

The chain it serves: firmware PXE asks DHCP and gets a TFTP boot file chosen by client
architecture (RFC 4578); that file is iPXE, which asks DHCP again, is recognised, and gets the
URL of its per-MAC script; the script loads a kernel over HTTP; the booted system reports back.

This crate knows nothing of power control or of the inventory's store: what a MAC boots is asked
of a [`BootPolicy`]. [`ConfigPolicy`] answers from the configuration file.

```no_run
# async fn demo() -> Result<(), metal_netboot::Error> {
use std::sync::Arc;
let config = metal_netboot::Config::load("netboot.toml".as_ref())?;
let policy = Arc::new(metal_netboot::ConfigPolicy::new(&config));
let server = metal_netboot::Netboot::bind(config, policy).await?;
server.run().await
# }
```
*/

pub mod config;
pub mod dhcp;
pub mod events;
pub mod grant;
pub mod http;
pub mod leases;
pub mod multiboot;
pub mod policy;
pub mod safe_root;
pub mod templates;
pub mod tftp;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Config, ConfigError, Mode};
pub use events::{Events, Heard};
pub use grant::Grant;
pub use metal_types::BootEvent;
pub use policy::{
    BootAction, BootDecision, BootPolicy, ConfigPolicy, HardwareFacts, PolicyError, Storage,
    StorageLayout,
};

/// Why the service cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// DHCP.
    #[error(transparent)]
    Dhcp(#[from] dhcp::DhcpError),
    /// TFTP.
    #[error(transparent)]
    Tftp(#[from] tftp::TftpError),
    /// The templates.
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    /// The HTTP listener.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The listen address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// All three servers, bound and ready to run.
pub struct Netboot {
    dhcp: dhcp::DhcpServer,
    tftp: tftp::TftpService,
    http: (tokio::net::TcpListener, axum::Router, http::Limits),
    events: Events,
}

impl Netboot {
    /// Loads the templates, checks that every profile's template exists, opens the lease file
    /// and binds every socket, so that all configuration errors surface here.
    pub async fn bind(config: Config, policy: Arc<dyn BootPolicy>) -> Result<Netboot, Error> {
        Self::bind_with(config, policy, None).await
    }

    /// [`Netboot::bind`] for a server that shares its segment with others: the DHCP leases
    /// live in `leases` (the lease file is not used), so no two servers hand out one address.
    pub async fn bind_shared(
        config: Config,
        policy: Arc<dyn BootPolicy>,
        leases: Arc<dyn leases::LeaseStore>,
    ) -> Result<Netboot, Error> {
        Self::bind_with(config, policy, Some(leases)).await
    }

    async fn bind_with(
        config: Config,
        policy: Arc<dyn BootPolicy>,
        leases: Option<Arc<dyn leases::LeaseStore>>,
    ) -> Result<Netboot, Error> {
        let templates = templates::Templates::load(&config.http.templates)?;
        for (name, profile) in &config.profiles {
            if !templates.has(&profile.template) {
                return Err(ConfigError::Invalid(format!(
                    "profile {name}: no template {:?} in {}",
                    profile.template,
                    config.http.templates.display()
                ))
                .into());
            }
        }
        let listen = config.http.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Http {
                addr: listen,
                source,
            })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(listen.port());
        let base_url = format!("http://{}:{port}", config.server_ip);
        let events = Events::new();
        let dhcp = dhcp::DhcpServer::bind(&config, policy.clone(), base_url.clone(), leases)?;
        let tftp = tftp::bind(&config.tftp.root, config.tftp_listen())?;
        let root = |path: &std::path::Path| {
            safe_root::SafeRoot::open(path)
                .map(Arc::new)
                .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
        };
        let state = http::HttpState {
            templates,
            profiles: config.profiles.clone(),
            policy,
            events: events.clone(),
            base_url,
            peers: config.http.peers.clone(),
            mode: config.mode,
            files: root(&config.http.root)?,
            tftp: root(&config.tftp.root)?,
            operator: config.http.operator_token(),
            dom0: config.dom0.clone(),
            server_ip: config.server_ip,
            recording: Arc::new(tokio::sync::Semaphore::new(http::MAX_RECORDING)),
            agent_authority: match &config.dom0.agent_authority {
                Some(dir) => Some(Arc::new(metal_pki::Authority::open(dir).map_err(|e| {
                    ConfigError::Invalid(format!("[dom0] agent_authority: {e}"))
                })?)),
                None => None,
            },
        };
        let limits = http::Limits::from_config(&config.http);
        let router = http::router(state);
        Ok(Netboot {
            dhcp,
            tftp,
            http: (listener, router, limits),
            events,
        })
    }

    /// Recent events (boot callbacks and scripts served).
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// The HTTP server's connection caps and timeouts.
    pub fn http_limits(&self) -> http::Limits {
        self.http.2
    }

    /// Where each server listens.
    pub fn addresses(&self) -> Addresses {
        Addresses {
            dhcp: self.dhcp.local_addrs(),
            tftp: self.tftp.local_addr(),
            http: self.http.0.local_addr().ok(),
        }
    }

    /// Serves until one of the servers fails.
    pub async fn run(self) -> Result<(), Error> {
        let (listener, router, limits) = self.http;
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let http = async move {
            http::serve(listener, router, limits)
                .await
                .map_err(|source| Error::Http { addr, source })
        };
        let tftp = self.tftp.serve();
        tokio::select! {
            r = self.dhcp.run() => r.map_err(Error::from),
            r = tftp => r.map_err(Error::from),
            r = http => r,
        }
    }
}

/// The bound addresses of a [`Netboot`].
#[derive(Debug, Clone)]
pub struct Addresses {
    /// DHCP sockets (67, and 4011 in proxy mode).
    pub dhcp: Vec<SocketAddr>,
    /// TFTP.
    pub tftp: SocketAddr,
    /// HTTP.
    pub http: Option<SocketAddr>,
}
