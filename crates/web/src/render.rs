//! Rendering a template into a response, and the pages every module may answer with: why a
//! request was refused, and the login form.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What every page shows around its content.
pub struct Chrome {
    pub operator: Option<String>,
    pub csrf: String,
    pub flash: Option<String>,
}

fn anonymous() -> Chrome {
    Chrome {
        operator: None,
        csrf: String::new(),
        flash: None,
    }
}

pub(crate) fn render(t: &impl Template, status: StatusCode) -> Response {
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
