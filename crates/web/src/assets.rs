//! Static assets (CSS, htmx, GraphiQL), embedded in the binary so a deployment is one file and no page loads
//! anything from a CDN.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "*.md"]
struct Assets;

/// `GET /assets/{*path}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/assets/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>) -> Response {
    match asset(&path) {
        Some(response) => response,
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The embedded file at `path` as a response with its content type and a cache policy.
pub fn asset(path: &str) -> Option<Response> {
    let file = Assets::get(path)?;
    let mime = file.metadata.mimetype();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Vendored files change only with their version; our own CSS may change on any deploy.
    let cache = if path.starts_with("vendor/") { "public, max-age=86400" } else { "public, max-age=300" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(response)
}
