//! What the HTTP handlers share, and their plain-text answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::config::{Dom0Config, Mode, Profile};
use crate::events::Events;
use crate::grant::OperatorToken;
use crate::policy::BootPolicy;
use crate::safe_root::SafeRoot;
use crate::templates::Templates;

/// What the handlers share.
pub struct HttpState {
    /// Rendered per request.
    pub templates: Templates,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Who boots what; keeps grants and events.
    pub policy: Arc<dyn BootPolicy>,
    /// Recent events, and their subscribers.
    pub events: Events,
    /// `http://ADDR:PORT` as clients reach us.
    pub base_url: String,
    /// The other servers of the segment (`[http] peers`), for plans.
    pub peers: Vec<SocketAddr>,
    /// Whether we hand out the addresses (then a reserved machine's script goes to its
    /// address only).
    pub mode: Mode,
    /// `[http] root`.
    pub files: Arc<SafeRoot>,
    /// The TFTP root.
    pub tftp: Arc<SafeRoot>,
    /// Who may read events.
    pub operator: Option<OperatorToken>,
    /// `[dom0]`: what every plan carries.
    pub dom0: Dom0Config,
    /// This server's address (the plans' default time server).
    pub server_ip: std::net::Ipv4Addr,
    /// metal's agent authority: signs a booting Dom0's agent certificate (`/agent-cert`).
    pub agent_authority: Option<Arc<metal_pki::Authority>>,
    /// Events being recorded ([`super::MAX_RECORDING`] permits).
    pub recording: Arc<Semaphore>,
}

/// A `text/plain` answer.
pub(crate) fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}
