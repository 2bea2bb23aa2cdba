//! Intel AMT on top of WS-Management: power state and changes, one-shot boot override,
//! hardware inventory, endpoint discovery, and a [`Fleet`] runner for many boards.
//!
//! This crate takes endpoints and credentials, never inventory rows; the caller decides which
//! boards to act on.

pub mod boot;
pub mod classes;
pub mod discover;
mod error;
pub mod fleet;
pub mod inventory;
pub mod power;
pub mod sol;

use std::sync::Arc;

use metal_wsman::{Client, Credentials, Endpoint, Request, Stats, TransportOptions};

pub use boot::BootOutcome;
pub use discover::Discovered;
pub use error::Error;
pub use fleet::{Fleet, HostRun, OpFuture};
pub use inventory::Hardware;
pub use power::{PowerChange, PowerPolicy, PowerStatus};
use sol::{SolOptions, SolReadiness, SolSession, SolTarget};

/// A session with one AMT board.
pub struct Amt {
    client: Client,
    policy: PowerPolicy,
    credentials: Credentials,
    transport: Arc<TransportOptions>,
}

impl Amt {
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        transport: Arc<TransportOptions>,
    ) -> Self {
        Self {
            client: Client::new(endpoint, credentials.clone(), transport.clone()),
            policy: PowerPolicy::default(),
            credentials,
            transport,
        }
    }

    pub fn with_policy(mut self, policy: PowerPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `address:port` of the board.
    pub fn host(&self) -> String {
        self.client.host()
    }

    /// Requests sent, 401s received and connections opened so far.
    pub fn stats(&self) -> Stats {
        self.client.stats()
    }

    /// The underlying WS-Man client, for classes this crate has no wrapper for.
    pub fn wsman(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Makes sure SOL is enabled (enabling it over WS-Man if needed), then opens a SOL session
    /// on the same address, over TLS when WS-Man uses TLS.
    pub async fn open_sol(
        &mut self,
        options: SolOptions,
    ) -> Result<(SolSession, SolReadiness), Error> {
        let readiness = self.ensure_sol().await?;
        let endpoint = self.client.endpoint().clone();
        let target = SolTarget {
            host: &endpoint.host,
            tls: endpoint.tls,
            credentials: &self.credentials,
            known_hosts: &self.transport.known_hosts,
        };
        let session = SolSession::open(target, options).await?;
        Ok((session, readiness))
    }

    fn data(&self, what: String) -> Error {
        Error::Data {
            host: self.host(),
            what,
        }
    }

    /// Sends a method invocation and requires ReturnValue 0.
    pub(crate) async fn invoke_ok(&mut self, request: &Request) -> Result<(), Error> {
        let response = self.client.call(request).await?;
        match response
            .return_value()
            .map_err(|e| self.data(e.to_string()))?
        {
            0 => Ok(()),
            code => Err(Error::Wsman(metal_wsman::Error::new(
                self.host(),
                metal_wsman::ErrorKind::MethodFailed {
                    method: request.action_name().to_string(),
                    code,
                },
            ))),
        }
    }
}
