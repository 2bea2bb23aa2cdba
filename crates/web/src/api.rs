//! The JSON API (`/api/…`, described by [`crate::openapi`]) and `/metrics`: the same views as
//! the pages, the same access rules.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metal_ops::view;
use serde::Serialize;

use crate::auth::Viewer;
use crate::query::{EventsQuery, ListQuery};
use crate::state::WebState;

fn problem(status: StatusCode, error: String) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

fn answer<T: Serialize>(result: Result<T, metal_ops::Error>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e @ (metal_ops::Error::Usage(_) | metal_ops::Error::Target(_))) => {
            problem(StatusCode::BAD_REQUEST, e.to_string())
        }
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// `GET /api/overview`.
pub async fn overview(State(state): State<WebState>, _: Viewer) -> Response {
    answer(view::overview(&state.0.store, &state.0.loads).await)
}

/// `GET /api/racks/{rack}`.
pub async fn rack(State(state): State<WebState>, _: Viewer, Path(name): Path<String>) -> Response {
    match view::rack(&state.0.store, &state.0.loads, &name).await {
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("there is no rack {name:?}")),
        other => answer(other),
    }
}

/// `GET /api/machines?q=&state=&rack=&page=&per_page=`.
pub async fn machines(
    State(state): State<WebState>,
    _: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    answer(
        view::machines(
            &state.0.store,
            &state.0.loads,
            &filter,
            q.page.unwrap_or(1),
            q.per_page.unwrap_or(view::PER_PAGE),
        )
        .await,
    )
}

/// `GET /api/machines/{host}`.
pub async fn board(State(state): State<WebState>, _: Viewer, Path(host): Path<String>) -> Response {
    match view::board(
        &state.0.store,
        &state.0.loads,
        &host,
        state.0.options.consoles.as_deref(),
    )
    .await
    {
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            format!("{host:?} is not in the inventory"),
        ),
        other => answer(other),
    }
}

/// `GET /api/events?before=&limit=`.
pub async fn events(
    State(state): State<WebState>,
    _: Viewer,
    Query(q): Query<EventsQuery>,
) -> Response {
    answer(view::events(&state.0.store, q.before, q.limit.unwrap_or(view::PER_PAGE)).await)
}

/// `GET /api/openapi.json`.
pub async fn openapi(_: Viewer) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
        .into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<WebState>, _: Viewer) -> Response {
    match metal_ops::metrics::render(Some(&state.0.store)).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, metal_ops::metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
