//! GraphQL over HTTP at `/graphql`: POST executes, GET in a browser opens the embedded GraphiQL.

use crate::AppState;
use crate::auth::Viewer;
use crate::extract::ApiJson;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Largest GraphQL request body; queries are small, and this bounds parsing work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// GraphiQL's Content-Security-Policy: its one inline bootstrap script is allowed by hash, nothing else inline.
const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self' 'sha256-ns4QAMGh2bD2lyXETW4teyvblVPPG1SoLPR33KhZyIg='; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'self'";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    // not in OpenAPI: GraphQL over HTTP, described by its own schema (schema.graphql, introspection).
    Router::new().route("/graphql", get(graphiql).post(execute).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
}

/// Executes one JSON-encoded GraphQL request. The body goes through [`ApiJson`], so it is bounded before it is
/// buffered, and a non-JSON (e.g. multipart) or malformed body is a problem+json error like on every REST route.
///
/// The answer follows GraphQL over HTTP: `application/json` by default, or `application/graphql-response+json`
/// when the client accepts it — and then a request that could not run at all (a document that does not parse or
/// validate, variables that do not coerce) is a 400 without `data`.
async fn execute(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<async_graphql::Request>,
) -> Response {
    let actor = omnisonic_graphql::Actor(viewer.user_id());
    let response = state.schema.execute(omnisonic_graphql::prepare(request, &state.db, actor)).await;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let graphql_response = accept.contains("application/graphql-response+json");
    // Errors without a path come from before execution: parsing, validation, variable coercion.
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let (status, body) = if graphql_response && not_executed {
        (axum::http::StatusCode::BAD_REQUEST, serde_json::json!({ "errors": response.errors }))
    } else {
        (axum::http::StatusCode::OK, serde_json::to_value(&response).unwrap_or_default())
    };
    let content_type = if graphql_response { "application/graphql-response+json" } else { "application/json" };
    (status, [(header::CONTENT_TYPE, content_type)], body.to_string()).into_response()
}

async fn graphiql(viewer: Viewer) -> Response {
    let Some(page) = crate::assets::asset("graphiql.html") else {
        return "GraphiQL is missing from this build".into_response();
    };
    let (mut parts, body) = page.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return "GraphiQL is missing from this build".into_response();
    };
    let mut html = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(signed_in) = &viewer.signed_in {
        // The token is URL-safe base64, so it needs no escaping inside the attribute.
        html =
            html.replacen("</head>", &format!("<meta name=\"csrf-token\" content=\"{}\">\n</head>", signed_in.csrf), 1);
        parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(GRAPHIQL_CSP));
    Response::from_parts(parts, axum::body::Body::from(html))
}
