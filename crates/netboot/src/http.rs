//! The HTTP side: per-MAC iPXE scripts, boot files (with Range requests), and the boot-event
//! endpoint.
//!
//! | route | what |
//! |---|---|
//! | `GET /boot/{mac}.ipxe` | the script the [`BootPolicy`] chooses for that MAC |
//! | `GET /files/{path}` | `[http] root`: kernels, initrds, images |
//! | `GET /tftp/{path}` | the TFTP root, for UEFI HTTP boot |
//! | `POST /events` | form `mac`, `stage`, `message`: a boot event |
//! | `GET /events` | every recorded event, JSON |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use metal_types::MacAddr;
use serde::Deserialize;
use tower_http::services::ServeDir;
use tracing::{info, warn};

use crate::config::{Config, Profile};
use crate::events::Events;
use crate::policy::{BootAction, BootPolicy};
use crate::templates::Templates;

/// What the handlers share.
pub struct HttpState {
    /// Rendered per request.
    pub templates: Templates,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Who boots what.
    pub policy: Arc<dyn BootPolicy>,
    /// The event record.
    pub events: Events,
    /// `http://ADDR:PORT` as clients reach us.
    pub base_url: String,
}

/// The router for `config`. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(config: &Config, state: HttpState) -> Router {
    Router::new()
        .route("/boot/{file}", get(script))
        .route("/events", get(list_events).post(post_event))
        .nest_service("/files", ServeDir::new(&config.http.root))
        .nest_service("/tftp", ServeDir::new(&config.tftp.root))
        .with_state(Arc::new(state))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
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
            format!("no script {file:?}: expected MAC.ipxe\n"),
        );
    };
    let decision = match state.policy.decide(mac).await {
        Ok(d) => d,
        Err(e) => {
            warn!("http: script for {mac}: {e}");
            return text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n"));
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
            vars.insert(
                "hostname".into(),
                decision.hostname.clone().unwrap_or_default().into(),
            );
            match state
                .templates
                .render(&profile.template, minijinja::Value::from(vars))
            {
                Ok(s) => (name.clone(), s),
                Err(e) => {
                    warn!("http: {mac}: profile {name}: {e}");
                    return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"));
                }
            }
        }
    };
    info!("http: {peer} script for {mac}: {profile_name}");
    state
        .events
        .record(mac, "script", &format!("profile {profile_name}"), peer.ip());
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

/// A boot event as installers send it: `wget --post-data 'mac=..&stage=..&message=..'`.
#[derive(Debug, Deserialize)]
struct EventForm {
    mac: String,
    stage: String,
    #[serde(default)]
    message: String,
}

async fn post_event(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<EventForm>,
) -> Response {
    let Ok(mac) = form.mac.parse::<MacAddr>() else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("not a MAC: {:?}\n", form.mac),
        );
    };
    if form.stage.is_empty() || form.stage.len() > 64 || form.message.len() > 4096 {
        return text(
            StatusCode::BAD_REQUEST,
            "stage must be 1–64 bytes, message at most 4096\n".into(),
        );
    }
    state
        .events
        .record(mac, &form.stage, &form.message, peer.ip());
    info!(
        "event: {mac} {} from {}: {}",
        form.stage,
        peer.ip(),
        form.message
    );
    StatusCode::NO_CONTENT.into_response()
}

async fn list_events(State(state): State<Arc<HttpState>>) -> Response {
    Json(state.events.list()).into_response()
}
