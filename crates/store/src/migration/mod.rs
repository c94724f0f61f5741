//! Schema migrations, written once with sea-query's portable builders and run unchanged on SQLite and PostgreSQL.
//!
//! The rule (CONTRIBUTING.md): never edit a migration that has landed; add a new one.

use sea_orm_migration::prelude::*;

mod m20261125_000001_catalogue;
mod m20261125_000002_studio;
mod m20261126_000003_auth;
mod m20261126_000004_session_owner_required;
mod m20261126_000005_uploads;
mod m20261126_000006_exports;
mod m20261126_000007_rights;
mod m20261126_000008_bulk_import;
mod m20261203_000009_schedules;
mod m20261203_000010_insight;
mod m20261203_000011_entity_embeddings;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_catalogue::Migration),
            Box::new(m20261125_000002_studio::Migration),
            Box::new(m20261126_000003_auth::Migration),
            Box::new(m20261126_000004_session_owner_required::Migration),
            Box::new(m20261126_000005_uploads::Migration),
            Box::new(m20261126_000006_exports::Migration),
            Box::new(m20261126_000007_rights::Migration),
            Box::new(m20261126_000008_bulk_import::Migration),
            Box::new(m20261203_000009_schedules::Migration),
            Box::new(m20261203_000010_insight::Migration),
            Box::new(m20261203_000011_entity_embeddings::Migration),
        ]
    }
}

/// Shorthand for the common `created_at`/`updated_at` columns.
fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn uuid_pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}
