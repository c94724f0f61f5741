//! Machine-facing routes: health, ingest REST, uploads, exports, GraphQL over HTTP.

pub mod bulk_import;
pub mod exports;
pub mod graphql;
pub mod health;
pub mod ingest;
pub mod insight;
pub mod uploads;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

/// The REST endpoints. Each is registered with `routes!`, which takes its path and method from the handler's
/// `#[utoipa::path]`: an endpoint cannot be served without its OpenAPI entry (`cargo xtask tidy` refuses a plain
/// `.route(` here unless a `// not in OpenAPI:` comment says why).
pub fn rest() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(ingest::router())
        .merge(bulk_import::router())
        .merge(uploads::router())
        .merge(exports::router())
        .merge(insight::router())
}
