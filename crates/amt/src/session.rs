//! [`Amt`]: a session with one board (its WS-Man client, credentials and power policy).
//! The operations are `impl Amt` blocks in the modules that own them (`power`, `boot`,
//! `inventory`, `sol::service`).

use std::sync::Arc;
use std::time::Duration;

use metal_wsman::{Client, Credentials, Endpoint, Request, Stats, TransportOptions};

use crate::error::Error;

/// A session with one AMT board.
pub struct Amt {
    pub(crate) client: Client,
    pub(crate) policy: PowerPolicy,
    pub(crate) credentials: Credentials,
    pub(crate) transport: Arc<TransportOptions>,
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

    pub(crate) fn data(&self, what: String) -> Error {
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

/// How long to wait for a power change to show, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct PowerPolicy {
    pub timeout: Duration,
    pub interval: Duration,
}

impl Default for PowerPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            interval: Duration::from_millis(250),
        }
    }
}
