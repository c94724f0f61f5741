//! Server-rendered pages: Studio, Catalogue, Insight and the home page.

mod catalogue;
mod home;
mod studio;

use crate::AppState;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

/// Pages' Content-Security-Policy: only our own scripts, no inline ones.
const CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The version shown in every page footer.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Routes of all pages.
pub fn router() -> Router<AppState> {
    Router::new().merge(home::router()).merge(studio::router()).merge(catalogue::router())
}

/// Renders a template as an HTML response with `status`.
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, Html(body)).into_response();
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    section: &'static str,
    version: &'static str,
    path: String,
}

/// The HTML "not found" page for `uri`.
fn not_found_page(uri: &Uri) -> Response {
    render(StatusCode::NOT_FOUND, &NotFoundPage { section: "", version: VERSION, path: uri.path().to_owned() })
}

/// The fallback: an HTML page for browsers, problem+json for API clients.
pub async fn not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    let wants_html =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        not_found_page(&uri)
    } else {
        crate::ApiError::NotFound(format!("route {}", uri.path())).into_response()
    }
}

/// Maps a store error on a page to a response: a missing row is a 404 page, anything else a logged 500.
fn page_error(err: omnisonic_store::StoreError, uri: &Uri) -> Response {
    match err {
        omnisonic_store::StoreError::NotFound { .. } => not_found_page(uri),
        other => {
            tracing::error!(error = ?other, "page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>Something went wrong</h1><p>Please try again.</p>"))
                .into_response()
        }
    }
}
