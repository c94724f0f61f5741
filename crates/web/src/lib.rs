//! Omnisonic's web transport: the only crate that knows about HTTP.
//!
//! Pages are server-rendered (askama) and enhanced with htmx, so every basic flow also works without JavaScript.
//! REST handlers answer errors as RFC 9457 problem+json with a stable `code`; GraphQL is served over the same
//! router. Handlers take the [`AppState`]; a use-case that spans more than one store call or has a side effect is
//! `omnisonic_app`'s (called with `state.app`), a plain read or write calls the store directly.

// Handlers' helpers return `Result<_, Response>`: the error branch *is* the answer to send, and boxing it would
// only add an allocation on the path that is already the slow one.
#![allow(clippy::result_large_err)]

mod assets;
mod audio;
pub mod auth;
mod error;
mod extract;
mod graphql_ws;
mod metrics;
mod openapi;
mod pages;
pub mod realtime;
mod routes;
mod state;
mod subscription_groups;
mod telemetry;
mod websocket;

pub use error::{ApiError, Problem};
pub use metrics::install_recorder;
pub use openapi::ApiDoc;
pub use state::{AppState, Background, BulkImportLimits};

use axum::Router;

/// The platform's pub/sub (in-process or Redis) as the GraphQL schema's event bus.
pub fn graphql_events(pubsub: omnisonic_platform::PubSub) -> omnisonic_graphql::events::Events {
    omnisonic_graphql::events::Events(std::sync::Arc::new(PubSubEvents(pubsub)))
}

struct PubSubEvents(omnisonic_platform::PubSub);

impl omnisonic_graphql::events::EventBus for PubSubEvents {
    fn publish<'a>(&'a self, channel: &'a str, message: &'a str) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.0.publish(channel, message).await.map_err(|e| e.to_string()) })
    }

    fn listen<'a>(
        &'a self,
        channel: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<futures::stream::BoxStream<'static, std::sync::Arc<str>>, String>> {
        use futures::StreamExt;
        Box::pin(async move {
            let subscription = self.0.subscribe_confirmed(channel).await.map_err(|e| e.to_string())?;
            let messages = futures::stream::unfold(subscription, |mut sub| async move {
                loop {
                    let message = sub.recv().await?;
                    // The confirmation probe is the pub/sub's own business, not an event.
                    if &*message != omnisonic_platform::pubsub::PROBE {
                        return Some((message, sub));
                    }
                }
            });
            Ok(messages.boxed())
        })
    }
}

/// Only GraphQL subscriptions (`/graphql/ws`), with the same sessions and middleware, for `SUBSCRIPTIONS_PORT`.
pub fn subscriptions_router(state: AppState) -> Router {
    with_middleware(state, graphql_ws::router())
}

/// The whole HTTP surface of Omnisonic.
pub fn router(state: AppState) -> Router {
    let (rest, rest_doc) = routes::rest().split_for_parts();
    let api = Router::new()
        .merge(rest)
        .merge(realtime::router())
        .merge(routes::graphql::router())
        .merge(graphql_ws::router())
        .merge(openapi::router(rest_doc));
    let routes = Router::new().merge(pages::router()).merge(auth::router()).merge(api).merge(assets::router());
    with_middleware(state, routes)
}

/// Wraps `routes` in what every listener needs: the not-found page, metrics, CSRF, sessions and telemetry.
fn with_middleware(state: AppState, routes: Router<AppState>) -> Router {
    let sessions = state.auth.session_layer(state.db.writer().clone());
    let app = routes
        .fallback(pages::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(auth::csrf::verify))
        .layer(sessions)
        .layer(axum::middleware::from_fn(auth::no_store_with_session))
        .layer(axum::middleware::from_fn(auth::drop_unreadable_cookies))
        .with_state(state);
    telemetry::apply(app)
}

/// The OpenAPI document as JSON (what `/openapi.json` serves).
pub fn openapi_json() -> String {
    openapi::document(routes::rest().into_openapi()).to_pretty_json().unwrap_or_default()
}
