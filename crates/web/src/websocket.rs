//! What every WebSocket endpoint (`/realtime`, `/graphql/ws`) checks before it upgrades: the browser's origin
//! (cross-site WebSocket hijacking would otherwise ride on the session cookie), and that the request is an
//! upgrade at all (a plain GET is told `426 Upgrade Required`).

use crate::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The upgrade to complete, or the response to give instead: 403 for another site's page, 426 for a request
/// that is not a WebSocket upgrade. Requests without `Origin` (not from a browser) pass the origin check.
pub(crate) fn accept(
    headers: &HeaderMap,
    state: &AppState,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, Response> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if let Some(origin) = origin
        && !same_origin(origin, state.auth.config.public_url.as_str())
    {
        tracing::info!(origin, "WebSocket connection from another origin refused");
        return Err(
            crate::ApiError::Forbidden("WebSocket connections must come from this site".to_owned()).into_response()
        );
    }
    ws.map_err(|rejection| (StatusCode::UPGRADE_REQUIRED, rejection.body_text()).into_response())
}

/// Whether a browser's `Origin` is our public URL's origin.
fn same_origin(origin: &str, public_url: &str) -> bool {
    let (Ok(origin), Ok(public)) = (url::Url::parse(origin), url::Url::parse(public_url)) else { return false };
    origin.origin() == public.origin()
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn only_our_own_origin_is_the_same() {
        assert!(same_origin("http://127.0.0.1:3000", "http://127.0.0.1:3000/"));
        assert!(!same_origin("https://evil.example", "http://127.0.0.1:3000/"));
        assert!(!same_origin("http://127.0.0.1:3001", "http://127.0.0.1:3000/"));
        assert!(!same_origin("null", "http://127.0.0.1:3000/"));
    }
}
