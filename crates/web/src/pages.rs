//! The HTML pages: each handler asks `metal-ops` for a view and renders one template.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use metal_inventory::MachineState;
use metal_ops::view::{self, Board, MachineRow, NumberedEvent, Overview, Page, RackView};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::format;
use crate::query::{EventsQuery, ListQuery};
use crate::render::{Chrome, failure, refusal, render};
use crate::state::WebState;

fn chrome(v: &Viewer) -> Chrome {
    Chrome {
        operator: v.operator().map(str::to_string),
        csrf: v.csrf().to_string(),
        flash: v.flash.clone(),
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    view: Overview,
}

/// `GET /`.
pub async fn overview(State(state): State<WebState>, viewer: Viewer) -> Response {
    match view::overview(&state.0.store, &state.0.loads).await {
        Ok(view) => render(
            &OverviewPage {
                chrome: chrome(&viewer),
                view,
            },
            StatusCode::OK,
        ),
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "rack.html")]
struct RackPage {
    chrome: Chrome,
    view: RackView,
}

/// `GET /racks/{rack}`.
pub async fn rack(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Response {
    match view::rack(&state.0.store, &state.0.loads, &name).await {
        Ok(Some(view)) => render(
            &RackPage {
                chrome: chrome(&viewer),
                view,
            },
            StatusCode::OK,
        ),
        Ok(None) => refusal(StatusCode::NOT_FOUND, &format!("there is no rack {name:?}")),
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "machines.html")]
struct MachinesPage {
    chrome: Chrome,
    page: Page<MachineRow>,
    query: String,
    state: String,
    rack: String,
    states: Vec<&'static str>,
}

impl MachinesPage {
    fn link(&self, page: u32) -> String {
        let mut params = vec![
            ("page", page.to_string()),
            ("per_page", self.page.per_page.to_string()),
        ];
        for (k, v) in [
            ("q", &self.query),
            ("state", &self.state),
            ("rack", &self.rack),
        ] {
            if !v.is_empty() {
                params.push((k, v.clone()));
            }
        }
        format!(
            "/machines?{}",
            serde_urlencoded::to_string(params).unwrap_or_default()
        )
    }
}

/// `GET /machines?q=&state=&rack=&page=&per_page=`.
pub async fn machines(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return refusal(StatusCode::BAD_REQUEST, &e),
    };
    let page = view::machines(
        &state.0.store,
        &state.0.loads,
        &filter,
        q.page.unwrap_or(1),
        q.per_page.unwrap_or(view::PER_PAGE),
    )
    .await;
    match page {
        Ok(page) => render(
            &MachinesPage {
                chrome: chrome(&viewer),
                page,
                query: filter.text.unwrap_or_default(),
                state: filter
                    .state
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                rack: filter.rack.unwrap_or_default(),
                states: MachineState::ALL.iter().map(|s| s.as_str()).collect(),
            },
            StatusCode::OK,
        ),
        Err(e) => failure(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /search?q=`: the board when one matches, else the filtered list.
pub async fn search(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(s): Query<SearchQuery>,
) -> Response {
    let text = s.q.unwrap_or_default();
    let query = ListQuery {
        q: Some(text.clone()),
        ..ListQuery::default()
    };
    let filter = match query.filter() {
        Ok(f) => f,
        Err(e) => return refusal(StatusCode::BAD_REQUEST, &e),
    };
    match view::machines(&state.0.store, &state.0.loads, &filter, 1, 2).await {
        Ok(page) if page.total == 1 => {
            let host = &page.items[0].hostname;
            Redirect::to(&format!("/machines/{}", format::urlencode(host))).into_response()
        }
        Ok(_) => {
            let to = format!(
                "/machines?{}",
                serde_urlencoded::to_string([("q", text.trim())]).unwrap_or_default()
            );
            drop(viewer);
            Redirect::to(&to).into_response()
        }
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    chrome: Chrome,
    b: Board,
}

/// `GET /machines/{host}`.
pub async fn board(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(host): Path<String>,
) -> Response {
    match view::board(
        &state.0.store,
        &state.0.loads,
        &host,
        state.0.options.consoles.as_deref(),
    )
    .await
    {
        Ok(Some(b)) => render(
            &BoardPage {
                chrome: chrome(&viewer),
                b,
            },
            StatusCode::OK,
        ),
        Ok(None) => refusal(
            StatusCode::NOT_FOUND,
            &format!("{host:?} is not in the inventory"),
        ),
        Err(e) => failure(&e),
    }
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    chrome: Chrome,
    events: Vec<NumberedEvent>,
    limit: u32,
}

/// `GET /events?before=N`.
pub async fn events(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<EventsQuery>,
) -> Response {
    let limit = q
        .limit
        .unwrap_or(view::PER_PAGE)
        .clamp(1, view::MAX_PER_PAGE);
    match view::events(&state.0.store, q.before, limit).await {
        Ok(events) => render(
            &EventsPage {
                chrome: chrome(&viewer),
                events,
                limit,
            },
            StatusCode::OK,
        ),
        Err(e) => failure(&e),
    }
}

/// `GET /style.css`.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
        .into_response()
}

/// Anything else.
pub async fn not_found() -> Response {
    refusal(StatusCode::NOT_FOUND, "no such page")
}
