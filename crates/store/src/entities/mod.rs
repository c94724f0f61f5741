//! SeaORM entities: one module per table, written once for SQLite and PostgreSQL.

pub mod account;
pub mod auth_session;
pub mod contribution;
pub mod export;
pub mod party;
pub mod recording;
pub mod studio_session;
pub mod track;
pub mod upload;
pub mod user;
pub mod verification_token;
pub mod work;
