//! Machine-facing routes: health, ingest REST, uploads, exports, GraphQL over HTTP.

pub mod bulk_import;
pub mod exports;
pub mod graphql;
pub mod health;
pub mod ingest;
pub mod uploads;
