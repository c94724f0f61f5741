//! Machine-facing routes: health, ingest REST, uploads, GraphQL over HTTP.

pub mod graphql;
pub mod health;
pub mod ingest;
pub mod uploads;
