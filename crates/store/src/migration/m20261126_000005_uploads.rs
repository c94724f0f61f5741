//! Uploaded files (spec 1.2's `Upload`), plus `sha256`, the studio session that uses the file, a status, and the
//! multipart upload id of a browser-direct upload still in progress.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    UserId,
    SessionId,
    FileName,
    FileSize,
    MimeType,
    StorageKey,
    Sha256,
    Status,
    MultipartId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Uploads::Table)
                .col(uuid_pk(Uploads::Id))
                .col(ColumnDef::new(Uploads::UserId).uuid().not_null())
                .col(ColumnDef::new(Uploads::SessionId).uuid())
                .col(ColumnDef::new(Uploads::FileName).string_len(255).not_null())
                .col(ColumnDef::new(Uploads::FileSize).big_integer().not_null())
                .col(ColumnDef::new(Uploads::MimeType).string_len(100).not_null())
                .col(ColumnDef::new(Uploads::StorageKey).string_len(255).not_null())
                .col(ColumnDef::new(Uploads::Sha256).string_len(64).not_null())
                .col(ColumnDef::new(Uploads::Status).string_len(16).not_null())
                .col(ColumnDef::new(Uploads::MultipartId).string_len(1024))
                .col(timestamp(Uploads::CreatedAt))
                .col(timestamp(Uploads::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("uploads_user_fk")
                        .from(Uploads::Table, Uploads::UserId)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("uploads_session_fk")
                        .from(Uploads::Table, Uploads::SessionId)
                        .to(Alias::new("studio_sessions"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uploads_storage_key_idx")
                .unique()
                .table(Uploads::Table)
                .col(Uploads::StorageKey)
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("uploads_user_idx").table(Uploads::Table).col(Uploads::UserId).to_owned())
            .await?;
        m.create_index(
            Index::create().name("uploads_session_idx").table(Uploads::Table).col(Uploads::SessionId).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("uploads_created_idx").table(Uploads::Table).col(Uploads::CreatedAt).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Uploads::Table).to_owned()).await
    }
}
