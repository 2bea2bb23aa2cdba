//! `metal`'s side of the agent API ([`metal_xen::api`]): one HTTPS request per call over
//! mutual TLS with the client identity of metal's authority, the agent's certificate checked
//! against the authority and the address dialled. Every call has a deadline; an answer is
//! read up to a bound.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use metal_xen::api::{self, Problem};
use rustls::pki_types::ServerName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{Config, Error, http1};

/// The largest answer read (a console tail is at most 1 MiB).
const MAX_ANSWER: usize = 4 << 20;
/// Connect and handshake.
const CONNECT: Duration = Duration::from_secs(10);

/// Calls Dom0 agents.
#[derive(Clone)]
pub struct Agents {
    tls: Arc<rustls::ClientConfig>,
}

/// One Dom0's agent: its hostname (for messages) and address.
#[derive(Debug, Clone)]
pub struct Agent {
    pub host: String,
    pub address: IpAddr,
}

impl Agents {
    /// With the client identity of the authority in `config.pki` (made on first use).
    pub fn new(config: &Config) -> Result<Agents, Error> {
        let dir = config.pki.as_ref().ok_or_else(|| {
            Error::Usage("no folder for the agent authority: set METAL_PKI".into())
        })?;
        let authority = metal_pki::Authority::open(dir)?;
        let tls = metal_pki::client_config(&authority.client()?, authority.ca_pem())?;
        Ok(Agents { tls })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        agent: &Agent,
        path: &str,
        deadline: Duration,
    ) -> Result<T, Error> {
        self.call(agent, Method::GET, path, None::<&()>, deadline)
            .await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        agent: &Agent,
        path: &str,
        body: &B,
        deadline: Duration,
    ) -> Result<T, Error> {
        self.call(agent, Method::POST, path, Some(body), deadline)
            .await
    }

    pub async fn delete<T: DeserializeOwned>(
        &self,
        agent: &Agent,
        path: &str,
        deadline: Duration,
    ) -> Result<T, Error> {
        self.call(agent, Method::DELETE, path, None::<&()>, deadline)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        agent: &Agent,
        method: Method,
        path: &str,
        body: Option<&B>,
        deadline: Duration,
    ) -> Result<T, Error> {
        let fail = |reason: String| Error::Agent {
            host: agent.host.clone(),
            reason,
        };
        let what = format!("{method} {path}");
        let answer = tokio::time::timeout(deadline, self.exchange(agent, method, path, body))
            .await
            .map_err(|_| fail(format!("{what}: no answer within {} s", deadline.as_secs())))?
            .map_err(|e| fail(format!("{what}: {e}")))?;
        let (status, bytes) = answer;
        if !status.is_success() {
            let why = serde_json::from_slice::<Problem>(&bytes)
                .map(|p| p.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(500).collect());
            return Err(fail(format!("{what}: {status}: {why}")));
        }
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("{what}: unreadable answer: {e}")))
    }

    async fn exchange<B: Serialize>(
        &self,
        agent: &Agent,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(StatusCode, Bytes), String> {
        let addr = SocketAddr::new(agent.address, api::PORT);
        let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr}: timed out"))?
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let name = ServerName::IpAddress(agent.address.into());
        let tls = tokio::time::timeout(
            CONNECT,
            TlsConnector::from(Arc::clone(&self.tls)).connect(name, tcp),
        )
        .await
        .map_err(|_| format!("TLS with {addr}: timed out"))?
        .map_err(|e| format!("TLS with {addr}: {e}"))?;
        let payload = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| e.to_string())?;
        http1::exchange(tls, request, MAX_ANSWER).await
    }
}
