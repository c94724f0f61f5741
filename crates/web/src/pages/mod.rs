//! Server-rendered pages: Studio, Catalogue, Insight and the home page.

mod catalogue;
mod home;
mod imports;
mod insight;
mod rights;
mod studio;

use crate::AppState;
use crate::auth::Viewer;
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
    Router::new()
        .merge(home::router())
        .merge(studio::router())
        .merge(catalogue::router())
        .merge(rights::router())
        .merge(imports::router())
        .merge(insight::router())
}

/// What every page's frame (header, user menu, footer) needs.
pub(crate) struct Chrome {
    /// The nav section to mark current.
    pub section: &'static str,
    /// The version in the footer.
    pub version: &'static str,
    /// The signed-in user's display name.
    pub user: Option<String>,
    /// The session's CSRF token when signed in (sent by htmx as a header, and by plain forms as a field).
    pub csrf: String,
}

impl Chrome {
    /// The frame for `viewer`.
    pub fn new(section: &'static str, viewer: &Viewer) -> Self {
        match &viewer.signed_in {
            Some(s) => Self { section, version: VERSION, user: Some(s.display_name()), csrf: s.csrf.clone() },
            None => Self::anonymous(section),
        }
    }

    /// The frame for pages rendered without looking at the session.
    pub fn anonymous(section: &'static str) -> Self {
        Self { section, version: VERSION, user: None, csrf: String::new() }
    }
}

/// Renders a template as an HTML response with `status`.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Response {
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

/// Like [`render`], with `form-action` widened to `origins` (space-separated): Chromium applies `form-action` to
/// the redirects a form submission follows, so a form that starts an OAuth sign-in must allow the provider.
pub(crate) fn render_allowing_form_targets(status: StatusCode, template: &impl Template, origins: &str) -> Response {
    let mut response = render(status, template);
    if origins.is_empty() || !response.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        return response;
    }
    let csp = CSP.replace("form-action 'self'", &format!("form-action 'self' {origins}"));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    chrome: Chrome,
    path: String,
}

/// The HTML "not found" page for `uri`.
fn not_found_page(uri: &Uri) -> Response {
    render(StatusCode::NOT_FOUND, &NotFoundPage { chrome: Chrome::anonymous(""), path: uri.path().to_owned() })
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

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage {
    chrome: Chrome,
    message: &'static str,
    back: String,
}

/// `403` page: signed in, but this is not yours to change.
fn forbidden_page(viewer: &Viewer, message: &'static str, back: String) -> Response {
    render(StatusCode::FORBIDDEN, &ForbiddenPage { chrome: Chrome::new("", viewer), message, back })
}

/// Maps a store error on a page to a response: a missing row is a 404 page, anything else a logged 500.
fn page_error(err: omnisonic_store::StoreError, uri: &Uri) -> Response {
    match err {
        omnisonic_store::StoreError::NotFound { .. } => not_found_page(uri),
        other => {
            tracing::error!(error = ?other, "page failed");
            server_error_page()
        }
    }
}

/// The page for a use-case's error: not found, or the 500 page (the cause logged).
fn app_error_page(err: omnisonic_app::AppError, uri: &Uri) -> Response {
    match err {
        omnisonic_app::AppError::Store(err) => page_error(err, uri),
        omnisonic_app::AppError::NotFound(_) => not_found_page(uri),
        other => {
            tracing::error!(error = &other as &dyn std::error::Error, "page failed");
            server_error_page()
        }
    }
}

/// The 500 page (the cause is logged by the caller).
fn server_error_page() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>Something went wrong</h1><p>Please try again.</p>")).into_response()
}
