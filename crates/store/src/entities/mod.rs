//! SeaORM entities: one module per table, written once for SQLite and PostgreSQL.

pub mod contribution;
pub mod party;
pub mod recording;
pub mod studio_session;
pub mod track;
pub mod work;
