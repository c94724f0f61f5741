//! Machine-facing routes: health, ingest REST, GraphQL over HTTP.

pub mod graphql;
pub mod health;
pub mod ingest;
