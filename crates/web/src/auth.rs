//! Who may look and who may act.
//!
//! - Operators log in with a name and password ([`metal_ops::operators`], argon2id hashes in
//!   the inventory) and get a session: a random 256-bit id in the `metal_session` cookie
//!   (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when configured), ended by logging
//!   out or after [`IDLE`](crate::sessions::IDLE) without a request.
//! - Every form carries the session's CSRF token (OWASP's synchronizer-token pattern), the API
//!   takes it in `X-CSRF-Token`; a change without it, with another, or without a session is
//!   refused (403 / 401) and nothing is done. The login form itself carries a token bound to a
//!   short-lived `metal_login` cookie, so another site cannot log a browser in.
//! - Reads need a session too, unless the client's address is in one of the open networks.
//! - At most [`FAILURES_PER_MINUTE`](crate::sessions::FAILURES_PER_MINUTE) login attempts per
//!   address per minute, counted before the password is checked; then 429.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::render;
use crate::sessions::{Session, token};
use crate::state::WebState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "metal_session";
/// The cookie the login form's token is bound to.
pub const LOGIN_COOKIE: &str = "metal_login";
/// The header the API takes the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Whether two tokens are equal, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Who is looking: an operator's session, or an anonymous reader on an open network.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session id and the session.
    pub session: Option<(String, Session)>,
    /// A message left by the last action.
    pub flash: Option<String>,
}

impl Viewer {
    pub fn operator(&self) -> Option<&str> {
        self.session.as_ref().map(|(_, s)| s.operator.as_str())
    }

    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |(_, s)| s.csrf.as_str())
    }
}

fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn wants_json(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The answer to a request that needs an operator and has none.
fn log_in_first(parts: &Parts) -> Response {
    let path = parts.uri.path();
    if wants_json(path) || parts.method != axum::http::Method::GET {
        let body = serde_json::json!({"error": "log in first (POST /login)"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut to = String::from("/login?");
    to.push_str(&serde_urlencoded::to_string([("next", next)]).unwrap_or_default());
    Redirect::to(&to).into_response()
}

fn session_of(parts: &Parts, state: &WebState) -> Option<(String, Session)> {
    let id = cookie_value(&parts.headers, SESSION_COOKIE)?;
    let session = state.0.sessions.touch(&id)?;
    Some((id, session))
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        if let Some((id, session)) = session_of(parts, state) {
            let flash = state.0.sessions.take_flash(&id);
            return Ok(Viewer {
                session: Some((id, session)),
                flash,
            });
        }
        let open =
            peer(parts).is_some_and(|ip| state.0.options.open.iter().any(|n| n.contains(&ip)));
        if open {
            return Ok(Viewer {
                session: None,
                flash: None,
            });
        }
        Err(log_in_first(parts))
    }
}

/// An operator with a session: what every change needs (its CSRF token is checked by the
/// handler, against the form field or the header).
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub session: Session,
    pub from: Option<IpAddr>,
}

impl Operator {
    /// The refusal (403) of a change whose `token` is not this session's CSRF token; `None`
    /// when it is.
    pub fn refuse_csrf(&self, token: Option<&str>) -> Option<Response> {
        match token {
            Some(t) if same(t, &self.session.csrf) => None,
            _ => {
                tracing::warn!(
                    operator = %self.session.operator,
                    from = ?self.from,
                    "refused a change without the session's CSRF token"
                );
                Some(render::refusal(
                    StatusCode::FORBIDDEN,
                    "the form's CSRF token is missing or wrong: reload the page and try again",
                ))
            }
        }
    }

    /// The actor the inventory's event log names.
    pub fn actor(&self) -> String {
        format!("{} (metal web)", self.session.operator)
    }
}

impl FromRequestParts<WebState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        match session_of(parts, state) {
            Some((id, session)) => Ok(Operator {
                id,
                session,
                from: peer(parts),
            }),
            None => {
                tracing::warn!(from = ?peer(parts), path = %parts.uri.path(), "refused a change without a session");
                Err(log_in_first(parts))
            }
        }
    }
}

/// Where to go after logging in: a path of this site only.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

/// A cookie for the whole site; `max_age` `None` makes it last as long as the browser runs
/// (the session cookie: the server ends an idle session itself).
fn set_cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> HeaderValue {
    let mut cookie = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .build();
    if let Some(age) = max_age {
        cookie.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`: the form, with a token bound to a fresh `metal_login` cookie.
pub async fn login_page(State(state): State<WebState>, Query(q): Query<NextQuery>) -> Response {
    let csrf = token();
    let mut response = render::login(safe_next(q.next.as_deref()), &csrf, None, StatusCode::OK);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LOGIN_COOKIE,
            &csrf,
            Some(Duration::from_secs(3600)),
            state.0.options.secure_cookies,
        ),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_string();
    let bound = cookie_value(&headers, LOGIN_COOKIE);
    if !bound.as_deref().is_some_and(|b| same(b, &form.csrf)) {
        return render::refusal(
            StatusCode::FORBIDDEN,
            "the login form's token is missing or wrong: open the login page again",
        );
    }
    if !state.0.sessions.attempt(peer.ip()) {
        return render::refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins from this address: wait a minute",
        );
    }
    match metal_ops::operators::verify(&state.0.store, &form.name, &form.password).await {
        Ok(true) => {
            tracing::info!(operator = %form.name, from = %peer.ip(), "operator logged in");
            state.0.sessions.succeeded(peer.ip());
            let id = state.0.sessions.create(&form.name);
            let mut response = Redirect::to(&next).into_response();
            let secure = state.0.options.secure_cookies;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &id, None, secure),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_COOKIE, "", Some(Duration::ZERO), secure),
            );
            response
        }
        Ok(false) => {
            tracing::warn!(from = %peer.ip(), "failed login");
            render::login(
                &next,
                &form.csrf,
                Some("wrong name or password"),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => render::refusal(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = operator.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    state.0.sessions.remove(&operator.id);
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            "",
            Some(Duration::ZERO),
            state.0.options.secure_cookies,
        ),
    );
    response
}
