//! The behaviour suite: the real application on port 0 over real HTTP, a fresh database per test.
//!
//! Every test in a `both_backends!` block runs twice: on SQLite (always) and on PostgreSQL when
//! `OMNISONIC_TEST_DATABASE_URL` is set (with `OMNISONIC_REQUIRE_SERVICES=1`, a missing PostgreSQL fails the run).

mod helpers;

mod auth;
mod authz;
mod bulk_import;
mod catalogue;
mod cli;
mod exports;
mod graphql;
mod health;
mod hostile;
mod ingest;
mod insight;
mod migrations;
mod queue;
mod rights;
mod studio;
mod uploads;
