//! Request ids, request logging and response hardening, applied to every route.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The header carrying the request id, in both directions.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in the cross-cutting layers. Order matters: the id is set first so that the trace span — and
/// so every log line of the request — carries it, and it is copied onto the response last.
pub fn apply(router: Router) -> Router {
    router
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // Pages and GraphiQL set their own; this covers everything else (the Swagger UI at `/docs`, assets,
        // JSON), so no response is ever without one.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(crate::ApiError::Internal("handler panicked".into()))
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn(scope_request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
                    tracing::info_span!("request", request_id = id.unwrap_or("-"), method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_untrusted_request_id))
}

/// Makes the request id current for the handler (`omnisonic_app::trace`), so the jobs it enqueues and the
/// events they publish carry it.
async fn scope_request_id(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).map(str::to_owned);
    omnisonic_app::trace::with_optional_request_id(id, next.run(req)).await
}

/// The Content-Security-Policy of responses that set none: our own scripts only (Swagger UI's are files), inline
/// styles and `data:` images (Swagger UI uses both), no framing.
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; \
    form-action 'self'";

/// Longest client-supplied request id we keep.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Keeps a client's `x-request-id` only when it is short and plain (`[A-Za-z0-9._-]`); anything else is dropped
/// so that a fresh id is generated. The id is echoed and logged, so it must not be able to forge log fields.
async fn drop_untrusted_request_id(mut req: Request<axum::body::Body>) -> Request<axum::body::Body> {
    let plain = req.headers().get(&REQUEST_ID).map(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if plain == Some(false) {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}
