//! The catalogue: parties, works, recordings, contributions.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Parties {
    Table,
    Id,
    Name,
    Kind,
    Ipi,
    Isni,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Works {
    Table,
    Id,
    Title,
    Iswc,
    Genres,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Recordings {
    Table,
    Id,
    Isrc,
    Title,
    Artist,
    DurationSeconds,
    ReleasedAt,
    Genre,
    WorkId,
    TitleFolded,
    ArtistFolded,
    GenreFolded,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Contributions {
    Table,
    Id,
    PartyId,
    WorkId,
    RecordingId,
    Role,
    ShareBps,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Parties::Table)
                .col(uuid_pk(Parties::Id))
                .col(ColumnDef::new(Parties::Name).string_len(500).not_null())
                .col(ColumnDef::new(Parties::Kind).string_len(32).not_null())
                .col(ColumnDef::new(Parties::Ipi).string_len(32))
                .col(ColumnDef::new(Parties::Isni).string_len(32))
                .col(timestamp(Parties::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("parties_name_idx").table(Parties::Table).col(Parties::Name).to_owned())
            .await?;

        m.create_table(
            Table::create()
                .table(Works::Table)
                .col(uuid_pk(Works::Id))
                .col(ColumnDef::new(Works::Title).string_len(500).not_null())
                .col(ColumnDef::new(Works::Iswc).string_len(15).unique_key())
                .col(ColumnDef::new(Works::Genres).json().not_null())
                .col(timestamp(Works::CreatedAt))
                .col(timestamp(Works::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Recordings::Table)
                .col(uuid_pk(Recordings::Id))
                .col(ColumnDef::new(Recordings::Isrc).string_len(12).not_null().unique_key())
                .col(ColumnDef::new(Recordings::Title).string_len(500).not_null())
                .col(ColumnDef::new(Recordings::Artist).string_len(500).not_null())
                .col(ColumnDef::new(Recordings::DurationSeconds).integer())
                .col(ColumnDef::new(Recordings::ReleasedAt).date())
                .col(ColumnDef::new(Recordings::Genre).string_len(100))
                .col(ColumnDef::new(Recordings::WorkId).uuid())
                // Lower-cased in Rust (full Unicode) at write time: SQLite's LOWER() folds ASCII only, so searching
                // LOWER(title) would miss "Émilie" on the embedded backend.
                .col(ColumnDef::new(Recordings::TitleFolded).string_len(500).not_null())
                .col(ColumnDef::new(Recordings::ArtistFolded).string_len(500).not_null())
                .col(ColumnDef::new(Recordings::GenreFolded).string_len(100))
                .col(timestamp(Recordings::CreatedAt))
                .col(timestamp(Recordings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("recordings_work_fk")
                        .from(Recordings::Table, Recordings::WorkId)
                        .to(Works::Table, Works::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("recordings_artist_idx", Recordings::ArtistFolded),
            ("recordings_genre_idx", Recordings::GenreFolded),
            ("recordings_work_idx", Recordings::WorkId),
        ] {
            m.create_index(Index::create().name(name).table(Recordings::Table).col(col).to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(Contributions::Table)
                .col(uuid_pk(Contributions::Id))
                .col(ColumnDef::new(Contributions::PartyId).uuid().not_null())
                .col(ColumnDef::new(Contributions::WorkId).uuid())
                .col(ColumnDef::new(Contributions::RecordingId).uuid())
                .col(ColumnDef::new(Contributions::Role).string_len(32).not_null())
                .col(ColumnDef::new(Contributions::ShareBps).integer().not_null())
                .col(timestamp(Contributions::CreatedAt))
                // One target, and a share within 0..=100 % — the database backs the domain rule up.
                .check(Expr::cust("(work_id IS NULL) <> (recording_id IS NULL)"))
                .check(Expr::cust("share_bps BETWEEN 0 AND 10000"))
                .foreign_key(
                    ForeignKey::create()
                        .name("contributions_party_fk")
                        .from(Contributions::Table, Contributions::PartyId)
                        .to(Parties::Table, Parties::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("contributions_work_fk")
                        .from(Contributions::Table, Contributions::WorkId)
                        .to(Works::Table, Works::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("contributions_recording_fk")
                        .from(Contributions::Table, Contributions::RecordingId)
                        .to(Recordings::Table, Recordings::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("contributions_party_idx", Contributions::PartyId),
            ("contributions_work_idx", Contributions::WorkId),
            ("contributions_recording_idx", Contributions::RecordingId),
        ] {
            m.create_index(Index::create().name(name).table(Contributions::Table).col(col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Contributions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Recordings::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Works::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Parties::Table).to_owned()).await
    }
}
