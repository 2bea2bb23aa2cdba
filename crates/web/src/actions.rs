//! The changes an operator makes from the dashboard: power actions and state changes. Each
//! needs a session and its CSRF token, calls `metal-ops`, and lands in the inventory's event
//! log under the operator's name (whether it worked or not).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use metal_inventory::MachineState;
use metal_types::PowerAction;
use serde::Deserialize;

use crate::auth::{CSRF_HEADER, Operator};
use crate::format::urlencode;
use crate::render;
use crate::state::WebState;

/// The power actions the dashboard offers (the graceful ones need an OS agent AMT rarely has).
fn power_action(name: &str) -> Result<PowerAction, String> {
    match name {
        "on" => Ok(PowerAction::On),
        "off" => Ok(PowerAction::Off),
        "cycle" => Ok(PowerAction::Cycle),
        "reset" => Ok(PowerAction::Reset),
        other => Err(format!(
            "unknown power action {other:?} (on, off, cycle, reset)"
        )),
    }
}

/// Why a power request did nothing.
enum Refused {
    /// Not an action the dashboard offers.
    Action(String),
    /// The workflow could not run (no such machine, no credentials, the inventory failed).
    Failed(metal_ops::Error),
}

impl Refused {
    fn status(&self) -> StatusCode {
        match self {
            Refused::Action(_) => StatusCode::BAD_REQUEST,
            Refused::Failed(metal_ops::Error::Inventory(metal_inventory::Error::NotFound(_))) => {
                StatusCode::NOT_FOUND
            }
            Refused::Failed(metal_ops::Error::Usage(_) | metal_ops::Error::Credentials(_)) => {
                StatusCode::BAD_REQUEST
            }
            Refused::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(&self) -> String {
        match self {
            Refused::Action(m) => m.clone(),
            Refused::Failed(e) => e.to_string(),
        }
    }
}

/// Runs `action` on `host` for `operator`: the flash line, and whether it worked.
async fn power(
    state: &WebState,
    operator: &Operator,
    host: &str,
    action: &str,
) -> Result<(String, bool), Refused> {
    let action = power_action(action).map_err(Refused::Action)?;
    let mut config = state.0.config.clone();
    config.user = operator.session.operator.clone();
    let done = metal_ops::power::operate(
        &config,
        &state.0.store,
        action,
        host,
        &operator.actor(),
        "from the dashboard",
    )
    .await
    .map_err(Refused::Failed)?;
    Ok(match &done.outcome {
        Ok(row) => (
            format!(
                "{}: power {}: {} → {}",
                done.hostname, done.action, row.before, row.power
            ),
            true,
        ),
        Err(e) => (
            format!("{}: power {} failed: {e}", done.hostname, done.action),
            false,
        ),
    })
}

#[derive(Debug, Deserialize)]
pub struct PowerForm {
    csrf: Option<String>,
    action: String,
}

/// `POST /machines/{host}/power` (form: `csrf`, `action`).
pub async fn power_form(
    State(state): State<WebState>,
    operator: Operator,
    Path(host): Path<String>,
    Form(form): Form<PowerForm>,
) -> Response {
    if let Some(refused) = operator.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    match power(&state, &operator, &host, &form.action).await {
        Ok((line, _)) => {
            state.0.sessions.flash(&operator.id, line);
            Redirect::to(&format!("/machines/{}", urlencode(&host))).into_response()
        }
        Err(refused) => render::refusal(refused.status(), &refused.message()),
    }
}

#[derive(Debug, Deserialize)]
pub struct PowerRequest {
    action: String,
}

/// `POST /api/machines/{host}/power` (JSON `{"action": …}`, the token in `X-CSRF-Token`).
pub async fn power_api(
    State(state): State<WebState>,
    operator: Operator,
    Path(host): Path<String>,
    headers: HeaderMap,
    Json(request): Json<PowerRequest>,
) -> Response {
    let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if operator.refuse_csrf(token).is_some() {
        let body = serde_json::json!({"error": "the X-CSRF-Token header is missing or wrong (GET /api/session gives it)"});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    match power(&state, &operator, &host, &request.action).await {
        Ok((line, ok)) => {
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::BAD_GATEWAY
            };
            (
                status,
                Json(serde_json::json!({"host": host, "ok": ok, "message": line})),
            )
                .into_response()
        }
        Err(refused) => (
            refused.status(),
            Json(serde_json::json!({ "error": refused.message() })),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct StateForm {
    csrf: Option<String>,
    to: String,
    reason: String,
}

/// `POST /machines/{host}/state` (form: `csrf`, `to`, `reason`).
pub async fn state_form(
    State(state): State<WebState>,
    operator: Operator,
    Path(host): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    if let Some(refused) = operator.refuse_csrf(form.csrf.as_deref()) {
        return refused;
    }
    let to = match form.to.parse::<MachineState>() {
        Ok(to @ (MachineState::Broken | MachineState::Enrolled | MachineState::Retired)) => to,
        _ => {
            return render::refusal(
                StatusCode::BAD_REQUEST,
                "the dashboard sets broken, enrolled or retired; netboot moves the others",
            );
        }
    };
    let line = match metal_ops::lifecycle::change_state(
        &state.0.store,
        &host,
        to,
        &operator.actor(),
        &form.reason,
    )
    .await
    {
        Ok(from) => format!("{host}: {from} → {to}"),
        Err(e) => format!("{host}: not changed: {e}"),
    };
    state.0.sessions.flash(&operator.id, line);
    Redirect::to(&format!("/machines/{}", urlencode(&host))).into_response()
}

/// `GET /api/session`: who is logged in, and the token changes need in `X-CSRF-Token`.
pub async fn session(operator: Operator) -> Response {
    Json(serde_json::json!({
        "operator": operator.session.operator,
        "csrf": operator.session.csrf,
    }))
    .into_response()
}
