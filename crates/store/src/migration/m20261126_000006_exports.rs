//! Mixdown exports (spec 1.3's `Export`), the job queue's table, and what a track needs for mixing: which audio
//! stream of its upload it plays and how long that stream is.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Exports {
    Table,
    Id,
    SessionId,
    UserId,
    Status,
    Format,
    BitDepth,
    BitrateKbps,
    Progress,
    StorageKey,
    FileSize,
    ErrorMessage,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Queue,
    Payload,
    Attempts,
    RunAtMs,
    LeaseUntilMs,
    LeaseToken,
    Dead,
    LastError,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum Tracks {
    Table,
    StreamIndex,
    DurationMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Exports::Table)
                .col(uuid_pk(Exports::Id))
                .col(ColumnDef::new(Exports::SessionId).uuid().not_null())
                .col(ColumnDef::new(Exports::UserId).uuid().not_null())
                .col(ColumnDef::new(Exports::Status).string_len(16).not_null())
                .col(ColumnDef::new(Exports::Format).string_len(8).not_null())
                .col(ColumnDef::new(Exports::BitDepth).integer())
                .col(ColumnDef::new(Exports::BitrateKbps).integer())
                .col(ColumnDef::new(Exports::Progress).integer().not_null().default(0))
                .col(ColumnDef::new(Exports::StorageKey).string_len(255))
                .col(ColumnDef::new(Exports::FileSize).big_integer())
                .col(ColumnDef::new(Exports::ErrorMessage).text())
                .col(timestamp(Exports::CreatedAt))
                .col(timestamp(Exports::UpdatedAt))
                .col(ColumnDef::new(Exports::CompletedAt).timestamp_with_time_zone())
                .foreign_key(
                    ForeignKey::create()
                        .name("exports_session_fk")
                        .from(Exports::Table, Exports::SessionId)
                        .to(Alias::new("studio_sessions"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("exports_user_fk")
                        .from(Exports::Table, Exports::UserId)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("exports_session_created_idx")
                .table(Exports::Table)
                .col(Exports::SessionId)
                .col(Exports::CreatedAt)
                .to_owned(),
        )
        .await?;

        // Times are epoch milliseconds: compared in SQL the same way on both databases.
        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(ColumnDef::new(Jobs::Id).string_len(36).not_null().primary_key())
                .col(ColumnDef::new(Jobs::Queue).string_len(64).not_null())
                .col(ColumnDef::new(Jobs::Payload).text().not_null())
                .col(ColumnDef::new(Jobs::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(Jobs::RunAtMs).big_integer().not_null())
                .col(ColumnDef::new(Jobs::LeaseUntilMs).big_integer())
                .col(ColumnDef::new(Jobs::LeaseToken).string_len(64))
                .col(ColumnDef::new(Jobs::Dead).boolean().not_null().default(false))
                .col(ColumnDef::new(Jobs::LastError).text())
                .col(ColumnDef::new(Jobs::CreatedAtMs).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("jobs_due_idx")
                .table(Jobs::Table)
                .col(Jobs::Queue)
                .col(Jobs::Dead)
                .col(Jobs::RunAtMs)
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter().table(Tracks::Table).add_column(ColumnDef::new(Tracks::StreamIndex).integer()).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Tracks::Table).add_column(ColumnDef::new(Tracks::DurationMs).big_integer()).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Tracks::Table).drop_column(Tracks::DurationMs).to_owned()).await?;
        m.alter_table(Table::alter().table(Tracks::Table).drop_column(Tracks::StreamIndex).to_owned()).await?;
        m.drop_table(Table::drop().table(Jobs::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Exports::Table).to_owned()).await
    }
}
