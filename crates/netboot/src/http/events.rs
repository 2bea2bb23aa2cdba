//! `POST /events` (a boot reporting back) and `GET /events` (an operator reading them).
//!
//! An event is believed only with its boot's token from its boot's address ([`crate::grant`]),
//! and it is kept by the [`BootPolicy`] before the client hears 204. When the events being
//! kept at once reach [`MAX_RECORDING`], or the store fails, the client hears 503 and can send
//! again: nothing is answered as accepted and then lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metal_types::text::Escaped;
use metal_types::{BootEvent, MacAddr};
use serde::Deserialize;
use tracing::{error, info, warn};

use super::auth::{boot_grant, busy, unauthorized};
use super::state::{HttpState, text};
use crate::grant::bearer;

/// Events being kept at once; one more is refused with 503.
pub const MAX_RECORDING: usize = 64;
/// Longest `stage`.
pub const MAX_STAGE: usize = 32;
/// Longest `message`, in bytes.
pub const MAX_MESSAGE: usize = 4096;
/// Longest request body (the form, encoded: up to three bytes per message byte).
pub const MAX_BODY: usize = 4 * MAX_MESSAGE;

/// A boot event as installers send it:
/// `wget --header 'Authorization: Bearer TOKEN' --post-data 'mac=..&stage=..&message=..'`.
#[derive(Debug, Deserialize)]
struct EventForm {
    mac: String,
    stage: String,
    #[serde(default)]
    message: String,
}

/// A form that passed intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedEvent {
    pub mac: MacAddr,
    /// A short word ([`MAX_STAGE`] of `a-z 0-9 . _ -`).
    pub stage: String,
    /// Free text, at most [`MAX_MESSAGE`] bytes, kept as sent (escaped where it is shown).
    pub message: String,
}

/// The intake of `POST /events`: an `application/x-www-form-urlencoded` body (the HTML form
/// encoding of the WHATWG URL standard) with `mac`, `stage` and `message`. The error says
/// what is wrong without echoing the input raw.
pub fn parse_event(body: &[u8]) -> Result<ReportedEvent, String> {
    let form: EventForm = serde_urlencoded::from_bytes(body)
        .map_err(|_| "expected a form: mac, stage, message".to_string())?;
    let mac = form.mac.parse::<MacAddr>().map_err(|_| {
        format!(
            "not a MAC: {}",
            Escaped(&metal_types::text::board_text(&form.mac))
        )
    })?;
    if !valid_stage(&form.stage) || form.message.len() > MAX_MESSAGE {
        return Err(format!(
            "stage must be 1–{MAX_STAGE} of a-z 0-9 . _ -, message at most {MAX_MESSAGE} bytes"
        ));
    }
    Ok(ReportedEvent {
        mac,
        stage: form.stage,
        message: form.message,
    })
}

/// A stage is a short lower-case word: `script`, `kernel`, `installing`, `booted`, `failed` …
fn valid_stage(stage: &str) -> bool {
    !stage.is_empty()
        && stage.len() <= MAX_STAGE
        && stage
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

pub(super) async fn post(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from = peer.ip();
    let form = match parse_event(&body) {
        Ok(form) => form,
        Err(why) => return text(StatusCode::BAD_REQUEST, format!("{why}\n")),
    };
    let mac = form.mac;
    let what = format!("event {}", Escaped(&form.stage));
    if let Err(refused) = boot_grant(&state, mac, &what, &headers, peer).await {
        return refused;
    }
    let Ok(_permit) = state.recording.clone().try_acquire_owned() else {
        warn!("event: {mac} from {from}: refused, {MAX_RECORDING} events are being recorded");
        return busy("too many events at once, send again");
    };
    let event = BootEvent {
        at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        mac,
        stage: form.stage,
        message: form.message,
        from,
    };
    match state.policy.record(&event).await {
        Ok(note) => {
            info!(
                "event: {mac} {} from {from}: {}",
                event.stage,
                Escaped(&event.message)
            );
            state.events.record(event, note);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            error!(
                "event: {mac} {} from {from}: NOT recorded: {e}",
                event.stage
            );
            busy("the event could not be recorded, send again")
        }
    }
}

/// `GET /events?mac=MAC`: only that machine's events (what `metal verify` waits for).
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    mac: Option<String>,
}

pub(super) async fn list(
    State(state): State<Arc<HttpState>>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(operator) = state.operator else {
        return text(
            StatusCode::FORBIDDEN,
            "reading events needs an operator token: set [http] operator_token_sha256\n".into(),
        );
    };
    match bearer(&headers) {
        Some(token) if operator.admits(token) => {
            let Some(mac) = query.mac else {
                return Json(state.events.list()).into_response();
            };
            let Ok(mac) = mac.parse::<MacAddr>() else {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "not a MAC: {}\n",
                        Escaped(&metal_types::text::board_text(&mac))
                    ),
                );
            };
            Json(state.events.list_of(mac)).into_response()
        }
        _ => unauthorized("reading events needs the operator token: Authorization: Bearer TOKEN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_short_words() {
        for good in ["booted", "kernel", "install-raid10", "step.2"] {
            assert!(valid_stage(good), "{good}");
        }
        for bad in ["", "Booted", "a b", "x\ny", &"s".repeat(MAX_STAGE + 1), "ü"] {
            assert!(!valid_stage(bad), "{bad:?}");
        }
    }
}
