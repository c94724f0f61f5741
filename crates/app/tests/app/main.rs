//! The application layer's own tests: use-cases called directly, without HTTP, on SQLite and on PostgreSQL
//! (`OMNISONIC_TEST_DATABASE_URL`; with `OMNISONIC_REQUIRE_SERVICES=1` a missing server fails instead of
//! skipping).

mod embeddings;
mod exports;
mod feed_server;
mod harness;
mod insight;
mod maintenance;
mod schedule;
mod store;
