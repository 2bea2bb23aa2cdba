//! `metal-agent serve`: the API of [`metal_xen::api`] over mutual TLS. The handshake refuses
//! any client without a certificate from metal's authority carrying `clientAuth`, so nothing
//! below it runs for anyone else. Connections are bounded in number and in time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use metal_xen::api::{self, Define, Host, Network, Problem, Receive};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::guests::{GuestError, Guests};
use crate::streams::Streams;
use crate::{load, streams};

/// Connections served at once; a handshake and a request's headers each get this long.
const MAX_CONNECTIONS: usize = 64;
const HANDSHAKE: Duration = Duration::from_secs(10);
const HEADERS: Duration = Duration::from_secs(10);

pub struct Options {
    pub listen: SocketAddr,
    pub tls: Arc<rustls::ServerConfig>,
    pub guests: Guests,
    /// Kernel names of the disks under `vg00`, for the IO load.
    pub disks: Vec<String>,
}

#[derive(Clone)]
struct App {
    guests: Arc<Guests>,
    streams: Arc<Streams>,
    disks: Arc<Vec<String>>,
}

struct Refused(GuestError);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(Problem {
                error: self.0.to_string(),
            }),
        )
            .into_response()
    }
}

type Answer<T> = Result<Json<T>, Refused>;

/// Runs `f` on the blocking pool (LVM, `xl` and streams block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GuestError> + Send + 'static,
) -> Answer<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(Json(v)),
        Ok(Err(e)) => Err(Refused(e)),
        Err(e) => Err(Refused(GuestError::Other(format!("the task failed: {e}")))),
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/v1/host", get(host))
        .route("/v1/load", get(load_report))
        .route("/v1/guests", get(list).post(define))
        .route("/v1/guests/{name}", axum::routing::delete(destroy))
        .route(
            "/v1/guests/{name}/receive",
            post(receive).get(receive_status),
        )
        .route("/v1/guests/{name}/configure", post(configure))
        .route("/v1/guests/{name}/send", post(send))
        .route("/v1/guests/{name}/start", post(start))
        .route("/v1/guests/{name}/stop", post(stop))
        .route("/v1/guests/{name}/console", get(console))
        .with_state(app)
}

async fn host(State(app): State<App>) -> Answer<Host> {
    blocking(move || {
        let info = metal_xen::load::parse_xl_info(&metal_xen::command::run(
            "xl",
            &["info"],
            &[],
            Duration::from_secs(60),
        )?)?;
        Ok(Host {
            hostname: rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
            info,
            vg_free_bytes: app.guests.vg.free().unwrap_or(0),
            guests: app.guests.list()?,
        })
    })
    .await
}

#[derive(Deserialize)]
struct Window {
    window: Option<u64>,
}

async fn load_report(
    State(app): State<App>,
    Query(w): Query<Window>,
) -> Answer<metal_xen::load::Load> {
    let window = Duration::from_secs(w.window.unwrap_or(5).clamp(1, 60));
    blocking(move || {
        load::measure(window, &app.disks).map_err(|e| GuestError::Other(e.to_string()))
    })
    .await
}

async fn list(State(app): State<App>) -> Answer<Vec<api::GuestStatus>> {
    blocking(move || app.guests.list()).await
}

async fn define(State(app): State<App>, Json(d): Json<Define>) -> Answer<api::GuestStatus> {
    blocking(move || app.guests.define(&d)).await
}

async fn destroy(State(app): State<App>, Path(name): Path<String>) -> Answer<api::GuestStatus> {
    blocking(move || app.guests.destroy(&name)).await
}

async fn receive(
    State(app): State<App>,
    Path(name): Path<String>,
    Json(r): Json<Receive>,
) -> Answer<api::Listening> {
    blocking(move || streams::receive(&app.guests, &app.streams, &name, &r)).await
}

async fn receive_status(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Answer<api::ReceiveStatus> {
    Ok(Json(streams::status(&app.streams, &name)))
}

async fn configure(
    State(app): State<App>,
    Path(name): Path<String>,
    Json(n): Json<Network>,
) -> Answer<api::GuestStatus> {
    blocking(move || app.guests.configure(&name, &n)).await
}

async fn send(
    State(app): State<App>,
    Path(name): Path<String>,
    Json(s): Json<api::Send>,
) -> Answer<api::SendReport> {
    blocking(move || streams::send(&app.guests, &app.streams, &name, &s)).await
}

async fn start(State(app): State<App>, Path(name): Path<String>) -> Answer<api::GuestStatus> {
    blocking(move || app.guests.start(&name)).await
}

async fn stop(State(app): State<App>, Path(name): Path<String>) -> Answer<api::GuestStatus> {
    blocking(move || app.guests.stop(&name)).await
}

#[derive(Deserialize)]
struct Tail {
    bytes: Option<u64>,
}

async fn console(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(t): Query<Tail>,
) -> Answer<String> {
    let bytes = t.bytes.unwrap_or(64 << 10);
    blocking(move || app.guests.console(&name, bytes)).await
}

/// Refused handshakes, logged at most once a second with how many were not shown: a flood of
/// strangers must not fill a diskless Dom0's RAM-backed log.
#[derive(Default)]
struct Refusals {
    state: std::sync::Mutex<(Option<std::time::Instant>, u64)>,
}

impl Refusals {
    fn note(&self, peer: SocketAddr, why: &dyn std::fmt::Display) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        if s.0
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            s.1 += 1;
            return;
        }
        match std::mem::take(&mut s.1) {
            0 => eprintln!("metal-agent: {peer}: refused: {why}"),
            n => {
                eprintln!("metal-agent: {peer}: refused: {why} (and {n} more since the last line)")
            }
        }
        s.0 = Some(now);
    }
}

/// Serves until the process is stopped.
pub async fn serve(options: Options) -> Result<(), String> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("{}: {e}", options.listen))?;
    eprintln!("metal-agent: serving on {} (mutual TLS)", options.listen);
    let app = App {
        guests: Arc::new(options.guests),
        streams: Arc::new(Streams::default()),
        disks: Arc::new(options.disks),
    };
    let router = router(app);
    let acceptor = TlsAcceptor::from(options.tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let refusals = Arc::new(Refusals::default());
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("metal-agent: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Full: this one is closed at once rather than queued.
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let refusals = Arc::clone(&refusals);
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    refusals.note(peer, &e);
                    return;
                }
                Err(_) => return,
            };
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                router.clone().call(req)
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADERS)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// The files `serve` reads its identity from.
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl Identity {
    pub fn tls(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let read =
            |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let id = metal_pki::Identity {
            cert_pem: read(&self.cert)?,
            key_pem: read(&self.key)?,
        };
        metal_pki::server_config(&id, &read(&self.ca)?).map_err(|e| e.to_string())
    }
}
