//! GraphQL over HTTP at `/graphql`: POST executes, GET in a browser opens the embedded GraphiQL.

use crate::AppState;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Largest GraphQL request body; queries are small, and this bounds parsing work.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/graphql", get(graphiql).post(execute).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)))
}

async fn execute(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    state.schema.execute(omnisonic_graphql::prepare(request.into_inner(), &state.db)).await.into()
}

async fn graphiql() -> Response {
    crate::assets::asset("graphiql.html").unwrap_or_else(|| "GraphiQL is missing from this build".into_response())
}
