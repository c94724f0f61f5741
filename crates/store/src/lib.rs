//! Omnisonic's storage: the one place SQL lives.
//!
//! Entities and migrations are written once and run on SQLite (the embedded default) and PostgreSQL; the backend
//! is chosen by the URL's scheme. Callers get plain row models and [`StoreError`]s — SeaORM's error type does not
//! leak past this crate's public functions except through [`StoreError::Database`], which transports map to a 500.

pub mod api_tokens;
pub mod auth;
pub mod bulk_imports;
pub mod catalogue;
mod connect;
mod db;
pub mod entities;
mod error;
pub mod exports;
pub mod feeds;
pub mod jobs;
pub mod ledger;
pub mod licenses;
pub mod migration;
pub mod news;
pub mod schedules;
pub mod studio;
pub mod tagging;
pub mod uploads;

pub use connect::{Backend, connect, max_connections, migrate, ping};
pub use db::Db;
pub use error::StoreError;
pub use sea_orm::DatabaseConnection;
