//! `POST /agent-cert/{mac}`: a booting Dom0's agent sends a certificate signing request (PEM)
//! with its boot's token, from its boot's address, and gets back a certificate for the
//! identity this server's policy gives that MAC (hostname, the boot's address), signed by
//! metal's agent authority, with the authority's certificate:
//!
//! ```json
//! { "cert": "-----BEGIN CERTIFICATE-----…", "ca": "-----BEGIN CERTIFICATE-----…" }
//! ```
//!
//! Only the public key of the request is used. The agent's key never leaves the Dom0, so a
//! listener on the provisioning network learns nothing that lets it pose as the agent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metal_types::MacAddr;
use metal_types::text::Escaped;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::auth::{boot_grant, busy};
use super::state::{HttpState, text};

/// A CSR is well under a kilobyte; the body limit of the route.
pub const MAX_BODY: usize = 16 << 10;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct AgentCert {
    pub cert: String,
    pub ca: String,
}

pub(super) async fn post(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(mac): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Ok(mac) = mac.parse::<MacAddr>() else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no machine {}: expected a MAC\n", Escaped(&mac)),
        );
    };
    let Some(authority) = state.agent_authority.clone() else {
        return text(
            StatusCode::NOT_FOUND,
            "this server signs no agent certificates ([dom0] agent_authority)\n".into(),
        );
    };
    let grant = match boot_grant(&state, mac, "agent-cert", &headers, peer).await {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    let decision = match state.policy.decide(mac).await {
        Ok(d) => d,
        Err(e) => return busy(&e.to_string()),
    };
    let Some(hostname) = decision.hostname else {
        warn!("agent-cert: {mac}: no hostname to certify");
        return text(
            StatusCode::CONFLICT,
            format!("{mac} has no hostname to certify its agent for\n"),
        );
    };
    let address = grant.address;
    let signed = tokio::task::spawn_blocking(move || {
        authority
            .sign_agent(&body, &hostname, address)
            .map(|cert| (hostname, cert, authority.ca_pem().to_string()))
    })
    .await;
    match signed {
        Ok(Ok((hostname, cert, ca))) => {
            info!("agent-cert: {mac}: signed for {hostname} at {address}");
            let answer = AgentCert { cert, ca };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_string(&answer).unwrap_or_default(),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            warn!("agent-cert: {mac}: refused: {e}");
            text(
                StatusCode::BAD_REQUEST,
                format!("{}\n", Escaped(&e.to_string())),
            )
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}
