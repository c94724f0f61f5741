//! SeaORM entities: one module per table, written once for SQLite and PostgreSQL.

pub mod account;
pub mod api_token;
pub mod auth_session;
pub mod bulk_import_job;
pub mod contribution;
pub mod cycle;
pub mod cycle_checkpoint;
pub mod entity_alias;
pub mod entity_embedding;
pub mod entity_tag;
pub mod export;
pub mod feed_source;
pub mod ledger_entry;
pub mod license;
pub mod news_item;
pub mod party;
pub mod recording;
pub mod studio_session;
pub mod track;
pub mod upload;
pub mod user;
pub mod user_role;
pub mod verification_token;
pub mod work;
