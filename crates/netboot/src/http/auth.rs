//! The boot's credentials on a request: its bearer token (compared in constant time by
//! [`Grant::admits`]) from the address its script went to. Events and plans both need them.

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metal_types::MacAddr;
use tracing::{error, warn};

use super::state::{HttpState, text};
use crate::grant::{Grant, bearer};

/// The grant of `mac`'s current boot if the request carries its token from its address; else
/// the answer to send (401, 403, or 503 when the policy cannot say).
pub(super) async fn boot_grant(
    state: &HttpState,
    mac: MacAddr,
    what: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Grant, Response> {
    let from = peer.ip();
    let refuse = |why: &str| warn!("{what}: {mac} from {from}: refused, {why}");
    let Some(token) = bearer(headers) else {
        refuse("no bearer token");
        return Err(unauthorized(
            "this needs the boot's token: Authorization: Bearer TOKEN",
        ));
    };
    let grant = match state.policy.grant(mac).await {
        Ok(g) => g,
        Err(e) => {
            error!("{what}: {mac} from {from}: cannot check its token: {e}");
            return Err(busy("cannot check the token now"));
        }
    };
    let Some(grant) = grant.filter(|g| g.admits(token)) else {
        refuse("not the token of its current boot");
        return Err(unauthorized("not the token of this machine's current boot"));
    };
    if grant.address != from {
        refuse(&format!("its boot runs at {}", grant.address));
        return Err(text(
            StatusCode::FORBIDDEN,
            "this boot's requests come from its own address only\n".into(),
        ));
    }
    Ok(grant)
}

pub(super) fn unauthorized(why: &str) -> Response {
    // RFC 6750 §3: a 401 names the scheme that would be accepted.
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Bearer realm=\"metal\""),
            (header::CONTENT_TYPE, "text/plain"),
        ],
        format!("{why}\n"),
    )
        .into_response()
}

pub(super) fn busy(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "1"),
            (header::CONTENT_TYPE, "text/plain"),
        ],
        format!("{why}\n"),
    )
        .into_response()
}
