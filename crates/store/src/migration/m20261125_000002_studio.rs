//! The studio: sessions and their tracks.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StudioSessions {
    Table,
    Id,
    Title,
    Description,
    Bpm,
    SampleRate,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tracks {
    Table,
    Id,
    SessionId,
    Name,
    UploadId,
    GainDb,
    Pan,
    Mute,
    Solo,
    StartOffsetSamples,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StudioSessions::Table)
                .col(uuid_pk(StudioSessions::Id))
                .col(ColumnDef::new(StudioSessions::Title).string_len(200).not_null())
                .col(ColumnDef::new(StudioSessions::Description).text())
                .col(ColumnDef::new(StudioSessions::Bpm).integer())
                .col(ColumnDef::new(StudioSessions::SampleRate).integer().not_null())
                .col(timestamp(StudioSessions::CreatedAt))
                .col(timestamp(StudioSessions::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Tracks::Table)
                .col(uuid_pk(Tracks::Id))
                .col(ColumnDef::new(Tracks::SessionId).uuid().not_null())
                .col(ColumnDef::new(Tracks::Name).string_len(200).not_null())
                .col(ColumnDef::new(Tracks::UploadId).uuid())
                .col(ColumnDef::new(Tracks::GainDb).double().not_null().default(0.0))
                .col(ColumnDef::new(Tracks::Pan).double().not_null().default(0.0))
                .col(ColumnDef::new(Tracks::Mute).boolean().not_null().default(false))
                .col(ColumnDef::new(Tracks::Solo).boolean().not_null().default(false))
                .col(ColumnDef::new(Tracks::StartOffsetSamples).big_integer().not_null().default(0))
                .col(ColumnDef::new(Tracks::Position).integer().not_null())
                .col(timestamp(Tracks::CreatedAt))
                .col(timestamp(Tracks::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("tracks_session_fk")
                        .from(Tracks::Table, Tracks::SessionId)
                        .to(StudioSessions::Table, StudioSessions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("tracks_session_position_idx")
                .unique()
                .table(Tracks::Table)
                .col(Tracks::SessionId)
                .col(Tracks::Position)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Tracks::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(StudioSessions::Table).to_owned()).await
    }
}
