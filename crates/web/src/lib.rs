//! The operations view: what an operator of hundreds of boards looks at, and where the few
//! actions that change a board's state are taken.
//!
//! - Pages (server-rendered, askama templates compiled into the binary; no front-end build):
//!   sites and racks, a rack by slot with each Dom0's DomUs and load, the machine list a page
//!   at a time, a board, search by hostname, MAC, UUID or serial, the event log.
//! - The same data as JSON under `/api/`, described by the OpenAPI document at
//!   `/api/openapi.json` ([`openapi`]).
//! - `/metrics` in Prometheus's text format.
//! - [`auth`]: operator login (argon2 hashes in the inventory), session cookies, a CSRF token on
//!   every form; reads may be open to configured networks, every change needs an operator, and
//!   every change is an inventory event naming them.
//!
//! The handlers call `metal-ops` for everything; this crate parses, checks access and renders.

mod actions;
mod api;
pub mod auth;
mod format;
pub mod openapi;
mod options;
mod pages;
mod query;
mod render;
mod sessions;
mod state;

use std::io;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use metal_inventory::Store;
use metal_ops::Config;
use metal_ops::loads::LoadBook;
use tokio::net::TcpListener;

pub use options::Options;
pub use state::WebState;

/// Every route of the view.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/racks/{rack}", get(pages::rack))
        .route("/machines", get(pages::machines))
        .route("/machines/{host}", get(pages::board))
        .route("/machines/{host}/power", post(actions::power_form))
        .route("/machines/{host}/state", post(actions::state_form))
        .route("/search", get(pages::search))
        .route("/events", get(pages::events))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/style.css", get(pages::style))
        .route("/metrics", get(api::metrics))
        .route("/api/overview", get(api::overview))
        .route("/api/racks/{rack}", get(api::rack))
        .route("/api/machines", get(api::machines))
        .route("/api/machines/{host}", get(api::board))
        .route("/api/machines/{host}/power", post(actions::power_api))
        .route("/api/events", get(api::events))
        .route("/api/session", get(actions::session))
        .route("/api/openapi.json", get(api::openapi))
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(no_framing))
        .with_state(state)
}

/// No page may be framed by another site (clickjacking; `SameSite=Strict` already keeps the
/// session out of a frame on another site, this says so to the browser too).
async fn no_framing(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Serves the view on `listener` until accepting fails for good, with the netboot server's
/// connection caps and timeouts, and a poller keeping the Dom0s' loads fresh.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    store: Store,
    options: Options,
) -> io::Result<()> {
    let loads = LoadBook::new(options.load_interval * 3);
    let poller = tokio::spawn(loads.clone().poll(
        config.clone(),
        store.clone(),
        options.load_interval,
    ));
    let state = WebState::new(config, store, loads, options);
    let limits = metal_netboot::http::Limits {
        total: 1024,
        per_source: 256,
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };
    let served = metal_netboot::http::serve(listener, router(state), limits).await;
    poller.abort();
    served
}
