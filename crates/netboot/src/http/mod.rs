//! The HTTP side: per-MAC iPXE scripts, boot files (with Range requests), and boot events.
//!
//! | route | what |
//! |---|---|
//! | `GET /boot/{mac}.ipxe` | the script the [`BootPolicy`] chooses for that MAC, with a fresh boot token |
//! | `GET /files/{path}` | `[http] root`: kernels, initrds, images |
//! | `GET /tftp/{path}` | the TFTP root, for UEFI HTTP boot |
//! | `GET /plan/{mac}` | JSON: what that boot's Dom0 or installer does ([`plan`]), with the boot's bearer token |
//! | `POST /events` | form `mac`, `stage`, `message`, with the boot's bearer token: a boot event |
//! | `GET /events[?mac=MAC]` | recent events (of one machine), JSON, with the operator's bearer token |
//!
//! Connections are capped and timed out by [`connections`]; files come through
//! [`SafeRoot`](crate::safe_root::SafeRoot), as over TFTP.

mod agent_cert;
mod auth;
mod connections;
mod events;
mod files;
pub mod plan;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use agent_cert::AgentCert;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
pub use connections::{Limits, serve};
pub use events::{MAX_MESSAGE, MAX_RECORDING, MAX_STAGE, ReportedEvent, parse_event};
use metal_types::MacAddr;
use metal_types::text::Escaped;
pub use state::HttpState;
use state::text;
use tracing::{info, warn};

use crate::config::Mode;
use crate::grant::{Grant, digest, new_token};
use crate::policy::BootAction;

/// The router. Serve it with [`serve`], which gives handlers the peer's address.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/boot/{file}", get(script))
        .route(
            "/events",
            get(events::list)
                .post(events::post)
                .layer(DefaultBodyLimit::max(events::MAX_BODY)),
        )
        .route("/plan/{mac}", get(plan::get))
        .route(
            "/agent-cert/{mac}",
            axum::routing::post(agent_cert::post)
                .layer(DefaultBodyLimit::max(agent_cert::MAX_BODY)),
        )
        .route("/files/{*path}", get(files_file))
        .route("/tftp/{*path}", get(tftp_file))
        .with_state(Arc::new(state))
}

async fn files_file(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    files::serve(state.files.clone(), path, &headers, peer).await
}

async fn tftp_file(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    files::serve(state.tftp.clone(), path, &headers, peer).await
}

async fn script(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(file): Path<String>,
) -> Response {
    let Some(mac) = file
        .strip_suffix(".ipxe")
        .and_then(|m| m.parse::<MacAddr>().ok())
    else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no script {}: expected MAC.ipxe\n", Escaped(&file)),
        );
    };
    let decision = match state.policy.decide(mac).await {
        Ok(d) => d,
        Err(e) => {
            warn!("http: script for {mac}: {e}");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot decide now\n".into(),
            );
        }
    };
    let (profile_name, body) = match &decision.action {
        BootAction::Ignore => {
            return text(StatusCode::NOT_FOUND, format!("{mac} is not netbooted\n"));
        }
        BootAction::LocalDisk => ("local disk".to_string(), "#!ipxe\nexit\n".to_string()),
        BootAction::Profile(name) => {
            let Some(profile) = state.profiles.get(name) else {
                warn!("http: {mac}: the policy chose unknown profile {name:?}");
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("unknown profile {name:?}\n"),
                );
            };
            // In mode dhcp a reserved address is the machine's lease: its script (and so its
            // token) goes there only. Otherwise the boot is bound to whoever fetched it.
            if state.mode == Mode::Dhcp
                && let Some(lease) = decision.address
                && peer.ip() != lease
            {
                warn!("http: {peer} script for {mac}: refused, its lease is {lease}");
                return text(
                    StatusCode::FORBIDDEN,
                    format!("the script of {mac} is served to its own address only\n"),
                );
            }
            let token = new_token();
            let grant = Grant {
                token_sha256: digest(&token),
                address: peer.ip(),
                issued_ms: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            };
            let mut vars: BTreeMap<String, minijinja::Value> = profile
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), template_value(v)))
                .collect();
            vars.insert("mac".into(), mac.to_string().into());
            vars.insert("profile".into(), name.clone().into());
            vars.insert("base_url".into(), state.base_url.clone().into());
            vars.insert(
                "events_url".into(),
                format!("{}/events", state.base_url).into(),
            );
            vars.insert("token".into(), token.into());
            vars.insert(
                "hostname".into(),
                decision.hostname.clone().unwrap_or_default().into(),
            );
            // The hardware profile fixes Dom0's memory (`dom0_mem=N,max:N`).
            if let Some(mib) = decision.hardware.as_ref().and_then(|h| h.dom0_memory_mib) {
                let given = profile
                    .vars
                    .get("xen_cmdline")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                vars.insert("xen_cmdline".into(), plan::with_dom0_mem(given, mib).into());
            }
            let rendered = state
                .templates
                .render(&profile.template, minijinja::Value::from(vars))
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    crate::multiboot::check(&s)
                        .map(|()| s)
                        .map_err(|e| e.to_string())
                });
            let script = match rendered {
                Ok(s) => s,
                Err(e) => {
                    warn!("http: {mac}: profile {name}: not served: {e}");
                    return text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("profile {name}: {e}\n"),
                    );
                }
            };
            // Kept only once the script will be served: a script that fails to render must not
            // replace the token of a boot already under way.
            if let Err(e) = state.policy.issue(mac, grant).await {
                warn!("http: script for {mac}: cannot keep its boot token: {e}");
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot issue a boot token now\n".into(),
                );
            }
            (name.clone(), script)
        }
    };
    info!("http: {peer} script for {mac}: {profile_name}");
    state
        .events
        .observe(mac, "script", &format!("profile {profile_name}"), peer.ip());
    text(StatusCode::OK, body)
}

/// A profile value from the TOML as a template value.
fn template_value(v: &toml::Value) -> minijinja::Value {
    use minijinja::Value;
    match v {
        toml::Value::String(s) => Value::from(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::from(a.iter().map(template_value).collect::<Vec<_>>()),
        toml::Value::Table(t) => {
            Value::from_iter(t.iter().map(|(k, v)| (k.clone(), template_value(v))))
        }
    }
}
