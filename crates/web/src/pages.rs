//! The HTML pages: each handler asks `metal-ops` for a view and renders one template.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use metal_inventory::MachineState;
use metal_ops::view::{self, Board, Filter, MachineRow, NumberedEvent, Overview, Page, RackView};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::state::WebState;

/// What every page shows around its content.
pub struct Chrome {
    pub operator: Option<String>,
    pub csrf: String,
    pub flash: Option<String>,
}

impl From<&Viewer> for Chrome {
    fn from(v: &Viewer) -> Self {
        Chrome {
            operator: v.operator().map(str::to_string),
            csrf: v.csrf().to_string(),
            flash: v.flash.clone(),
        }
    }
}

fn anonymous() -> Chrome {
    Chrome {
        operator: None,
        csrf: String::new(),
        flash: None,
    }
}

fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("rendering a page: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

/// A page saying why a request was refused or failed.
pub(crate) fn refusal(status: StatusCode, message: &str) -> Response {
    let heading = status.canonical_reason().unwrap_or("Refused");
    render(
        &MessagePage {
            chrome: anonymous(),
            heading,
            message,
        },
        status,
    )
}

/// The answer to a workflow's failure.
pub(crate) fn failure(e: &metal_ops::Error) -> Response {
    let status = match e {
        metal_ops::Error::Usage(_) | metal_ops::Error::Target(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    refusal(status, &e.to_string())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    next: &'a str,
    token: &'a str,
    error: Option<&'a str>,
}

pub(crate) fn login(next: &str, token: &str, error: Option<&str>, status: StatusCode) -> Response {
    render(
        &LoginPage {
            chrome: anonymous(),
            next,
            token,
            error,
        },
        status,
    )
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
                chrome: Chrome::from(&viewer),
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
                chrome: Chrome::from(&viewer),
                view,
            },
            StatusCode::OK,
        ),
        Ok(None) => refusal(StatusCode::NOT_FOUND, &format!("there is no rack {name:?}")),
        Err(e) => failure(&e),
    }
}

/// The query of the machine list (and of `/api/machines`).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub state: Option<String>,
    pub rack: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl ListQuery {
    /// The filter, or why it cannot be one.
    pub fn filter(&self) -> Result<Filter, String> {
        let state = match self.state.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse::<MachineState>().map_err(|e| e.to_string())?),
            None => None,
        };
        let text = self
            .q
            .clone()
            .filter(|q| !q.trim().is_empty())
            .map(|q| q.trim().to_string());
        if let Some(t) = &text {
            view::check_query(t).map_err(|e| e.to_string())?;
        }
        Ok(Filter {
            text,
            state,
            rack: self.rack.clone().filter(|r| !r.is_empty()),
        })
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
        let mut params = vec![("page", page.to_string())];
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
                chrome: Chrome::from(&viewer),
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
            Redirect::to(&format!("/machines/{}", urlencode(host))).into_response()
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

/// A path segment with everything but unreserved characters percent-encoded (RFC 3986 §2.3).
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    match view::board(&state.0.store, &state.0.loads, &host).await {
        Ok(Some(b)) => render(
            &BoardPage {
                chrome: Chrome::from(&viewer),
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

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    pub before: Option<i64>,
    pub limit: Option<u32>,
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
                chrome: Chrome::from(&viewer),
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
