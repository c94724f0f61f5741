//! Entity vectors of the tagger's sentence model, cached in the database when no Redis is configured.
//!
//! One row per entity: the vector of the text that stood for it (`text_hash`: its name and artist) under one
//! model. A renamed entity's text hashes differently, so its row is stale and recomputed on next use.

use sea_orm_migration::prelude::*;

use super::timestamp;

#[derive(DeriveIden)]
enum EntityEmbeddings {
    Table,
    EntityId,
    TextHash,
    Model,
    Vector,
    ComputedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EntityEmbeddings::Table)
                .col(ColumnDef::new(EntityEmbeddings::EntityId).uuid().not_null().primary_key())
                .col(ColumnDef::new(EntityEmbeddings::TextHash).string_len(64).not_null())
                .col(ColumnDef::new(EntityEmbeddings::Model).string_len(200).not_null())
                .col(ColumnDef::new(EntityEmbeddings::Vector).blob().not_null())
                .col(timestamp(EntityEmbeddings::ComputedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EntityEmbeddings::Table).to_owned()).await
    }
}
