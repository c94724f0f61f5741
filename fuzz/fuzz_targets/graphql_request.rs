//! The GraphQL request path as `/graphql` runs it: a JSON body → `async_graphql::Request` → the schema with its
//! limits (size and nesting before the parser, fields, aliases and introspection after it, depth and complexity
//! in validation) → execution against a real (in-memory SQLite) catalogue, anonymously. A crash is a panic, an
//! abort or a stack overflow anywhere on that path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use omnisonic_graphql::{Actor, OmnisonicSchema};
use omnisonic_store::DatabaseConnection;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::sync::{Arc, OnceLock};

/// Mutations publish and subscriptions listen; nothing needs to arrive here.
struct NoBus;

impl omnisonic_graphql::events::EventBus for NoBus {
    fn publish<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn listen<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, Arc<str>>, String>> {
        Box::pin(async { Ok(futures::stream::empty().boxed()) })
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    db: DatabaseConnection,
    schema: OmnisonicSchema,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // Requests run on tokio's worker threads, whose stacks are 2 MiB (the main thread's are 8): run them on one
        // so a stack overflow shows here as it would in the server.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(2 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        let (db, schema) = runtime.block_on(async {
            let db = omnisonic_store::connect("sqlite::memory:", 1).await.expect("database");
            omnisonic_store::migrate(&db).await.expect("migrate");
            let events = omnisonic_graphql::events::Events(Arc::new(NoBus));
            let schema = omnisonic_graphql::build_schema(db.clone().into(), events);
            (db, schema)
        });
        World { runtime, db, schema }
    })
}

fuzz_target!(|body: &[u8]| {
    // The HTTP route bounds the body (64 KiB) before it parses it.
    if body.len() > 64 * 1024 {
        return;
    }
    let Ok(request) = serde_json::from_slice::<async_graphql::Request>(body) else { return };
    let world = world();
    let prepared = omnisonic_graphql::prepare(request, &world.db, Actor(None));
    let schema = world.schema.clone();
    let answered = world.runtime.block_on(world.runtime.spawn(async move {
        let response = schema.execute(prepared).await;
        // Serialising the answer is part of the path too.
        serde_json::to_vec(&response).map(|_| ())
    }));
    // A panic inside the task is a crash like any other.
    if let Err(err) = answered {
        std::panic::resume_unwind(err.into_panic());
    }
});
