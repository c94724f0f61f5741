//! Omnisonic's GraphQL transport: the async-graphql schema over the catalogue.
//!
//! Every list field's children are fetched through [`loaders::CatalogueLoader`], so a page of 50 recordings with
//! their contributions and parties costs a fixed handful of statements however large the page is. Depth and
//! complexity are bounded so that one request cannot ask for the whole graph.

mod error;
pub mod loaders;
mod query;
mod types;

pub use error::ErrorCode;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use omnisonic_store::DatabaseConnection;

/// The schema type served at `/graphql`.
pub type OmnisonicSchema = Schema<query::Query, EmptyMutation, EmptySubscription>;

/// Deepest selection a query may nest.
pub const MAX_DEPTH: usize = 12;
/// Largest complexity a query may have; a list field counts its children once per requested item.
pub const MAX_COMPLEXITY: usize = 5_000;
/// Most items one page of a connection may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Builds the schema; `db` serves every resolver.
pub fn build_schema(db: DatabaseConnection) -> OmnisonicSchema {
    Schema::build(query::Query, EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(query::Query, EmptyMutation, EmptySubscription).finish().sdl()
}

/// Who sent a request: the signed-in user's id, or `None` for anonymous requests. Resolvers that change data
/// call [`require_actor`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Actor(pub Option<uuid::Uuid>);

/// The signed-in user's id, or an `UNAUTHENTICATED` error.
pub fn require_actor(ctx: &async_graphql::Context<'_>) -> async_graphql::Result<uuid::Uuid> {
    ctx.data_opt::<Actor>()
        .and_then(|actor| actor.0)
        .ok_or_else(|| error::coded(ErrorCode::Unauthenticated, "sign in to do this"))
}

/// Prepares one request: attaches who sent it and a fresh, request-scoped DataLoader (its cache must not outlive
/// the request).
pub fn prepare(request: async_graphql::Request, db: &DatabaseConnection, actor: Actor) -> async_graphql::Request {
    let loader: loaders::Loaders =
        DataLoader::with_cache(loaders::CatalogueLoader::new(db.clone()), tokio::spawn, HashMapCache::default());
    request.data(loader).data(actor)
}
