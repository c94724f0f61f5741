//! GraphQL over HTTP at `/graphql`: POST executes, GET in a browser opens the embedded GraphiQL.

use crate::AppState;
use crate::extract::ApiJson;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Largest GraphQL request body; queries are small, and this bounds parsing work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// GraphiQL's Content-Security-Policy: its one inline bootstrap script is allowed by hash, nothing else inline.
const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self' 'sha256-FkiXbtQ4K5yWn3QytmUISmbjvhFXQhmRKOS+nb2Ks8w='; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'self'";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/graphql", get(graphiql).post(execute).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
}

/// Executes one JSON-encoded GraphQL request. The body goes through [`ApiJson`], so it is bounded before it is
/// buffered, and a non-JSON (e.g. multipart) or malformed body is a problem+json error like on every REST route.
async fn execute(State(state): State<AppState>, ApiJson(request): ApiJson<async_graphql::Request>) -> Response {
    let response = state.schema.execute(omnisonic_graphql::prepare(request, &state.db)).await;
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}

async fn graphiql() -> Response {
    let Some(mut page) = crate::assets::asset("graphiql.html") else {
        return "GraphiQL is missing from this build".into_response();
    };
    page.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(GRAPHIQL_CSP));
    page
}
