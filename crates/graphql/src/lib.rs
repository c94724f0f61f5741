//! Omnisonic's GraphQL transport: the async-graphql schema over the catalogue.
//!
//! Every list field's children are fetched through [`loaders::CatalogueLoader`], so a page of 50 recordings with
//! their contributions and parties costs a fixed handful of statements however large the page is. Depth and
//! complexity are bounded so that one request cannot ask for the whole graph.

mod error;
pub mod events;
pub mod limits;
pub mod loaders;
mod mutation;
mod news;
mod query;
#[macro_use]
mod types;
mod rights;
mod rights_query;
mod subscription;

pub use error::ErrorCode;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::{MergedObject, Schema};
use omnisonic_domain::account::StaffRole;
use omnisonic_store::{DatabaseConnection, Db};
use std::sync::Arc;

/// Every query: the catalogue's and the rights graph's.
#[derive(MergedObject, Default)]
pub struct Query(query::CatalogueQuery, rights_query::RightsQuery, news::NewsQuery);

/// The schema type served at `/graphql` and `/graphql/ws`.
pub type OmnisonicSchema = Schema<Query, mutation::Mutation, subscription::Subscription>;

/// Deepest selection a query may nest.
pub const MAX_DEPTH: usize = 12;
/// Largest complexity a query may have; a list field counts its children once per requested item.
pub const MAX_COMPLEXITY: usize = 5_000;
/// What a field that scans a table (a substring search, a checkpoint verification) adds to the complexity:
/// a few of them fit in [`MAX_COMPLEXITY`], a thousand aliases of one do not.
pub const SCAN_COST: usize = 1_000;
/// Most items one page of a connection may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Builds the schema; `db` serves every resolver and `pubsub` carries change events to subscriptions.
///
/// GraphQL's root fields in flight across all requests may hold at most half of `db`'s pool (see
/// [`limits`]), so the rest stays for pages, health checks and workers whatever GraphQL clients send.
pub fn build_schema(db: Db, pubsub: events::Events) -> OmnisonicSchema {
    let shared_root_fields = usize::try_from(omnisonic_store::max_connections(&db) / 2).unwrap_or(1);
    Schema::build(Query::default(), mutation::Mutation, subscription::Subscription)
        .data(db)
        .data(pubsub)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(limits::RequestLimits::new(shared_root_fields))
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), mutation::Mutation, subscription::Subscription).finish().sdl()
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

/// The signed-in user's id when they hold `role`; `UNAUTHENTICATED` when anonymous, `FORBIDDEN` otherwise.
pub async fn require_role(ctx: &async_graphql::Context<'_>, role: StaffRole) -> async_graphql::Result<uuid::Uuid> {
    let user = require_actor(ctx)?;
    let db = ctx.data_unchecked::<Db>().writer();
    let roles = omnisonic_store::auth::roles_of(db, user).await.map_err(error::from_store)?;
    if roles.iter().any(|r| r == role.as_str()) {
        Ok(user)
    } else {
        Err(error::coded(ErrorCode::Forbidden, format!("this needs the {role} role")))
    }
}

/// Prepares one subscription (or any operation sent over a WebSocket): like [`prepare`], but the loader is
/// shared with the subscription's stream, which empties its cache before each event.
pub fn prepare_subscription(
    request: async_graphql::Request,
    db: &DatabaseConnection,
    actor: Actor,
) -> async_graphql::Request {
    request.data(Arc::new(new_loader(db))).data(actor)
}

/// A DataLoader over `db` with its own cache.
fn new_loader(db: &DatabaseConnection) -> loaders::Loaders {
    DataLoader::with_cache(loaders::CatalogueLoader::new(db.clone()), tokio::spawn, HashMapCache::default())
}

/// Prepares one request: attaches who sent it and a fresh, request-scoped DataLoader (its cache must not outlive
/// the request).
pub fn prepare(request: async_graphql::Request, db: &DatabaseConnection, actor: Actor) -> async_graphql::Request {
    let loader = new_loader(db);
    request.data(loader).data(actor)
}
