//! Makes `studio_sessions.user_id` required, now that every row has an owner (the previous migration backfilled
//! them) — the second step of spec 1.1's "nullable first, then required".
//!
//! PostgreSQL does it in place. SQLite cannot add NOT NULL to a column, so its tables are rebuilt: the new copies
//! are created under temporary names *with the child's foreign key pointing at the new parent*, so dropping the
//! old tables cascades into nothing, and the renames then fix every reference (SQLite ≥ 3.26 rewrites foreign keys
//! on RENAME). Everything runs in one transaction.

use super::{timestamp, uuid_pk};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StudioSessions {
    Table,
    Id,
    UserId,
    Title,
    Description,
    Bpm,
    SampleRate,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StudioSessionsNew {
    Table,
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

#[derive(DeriveIden)]
enum TracksNew {
    Table,
}

const SESSION_COLUMNS: &str = "id, user_id, title, description, bpm, sample_rate, created_at, updated_at";
const TRACK_COLUMNS: &str =
    "id, session_id, name, upload_id, gain_db, pan, mute, solo, start_offset_samples, position, created_at, updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DbBackend::Sqlite => rebuild_sqlite(m).await,
            _ => {
                m.alter_table(
                    Table::alter()
                        .table(StudioSessions::Table)
                        .modify_column(ColumnDef::new(StudioSessions::UserId).uuid().not_null())
                        .to_owned(),
                )
                .await
            }
        }
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            // Relaxing NOT NULL on SQLite would need the same rebuild in reverse: say so rather than pretend.
            DbBackend::Sqlite => {
                Err(DbErr::Migration("this migration cannot be reverted on SQLite: restore a backup".to_owned()))
            }
            _ => {
                m.alter_table(
                    Table::alter()
                        .table(StudioSessions::Table)
                        .modify_column(ColumnDef::new(StudioSessions::UserId).uuid().null())
                        .to_owned(),
                )
                .await
            }
        }
    }
}

async fn rebuild_sqlite(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(StudioSessionsNew::Table)
            .col(uuid_pk(StudioSessions::Id))
            .col(ColumnDef::new(StudioSessions::UserId).uuid().not_null())
            .col(ColumnDef::new(StudioSessions::Title).string_len(200).not_null())
            .col(ColumnDef::new(StudioSessions::Description).text())
            .col(ColumnDef::new(StudioSessions::Bpm).integer())
            .col(ColumnDef::new(StudioSessions::SampleRate).integer().not_null())
            .col(timestamp(StudioSessions::CreatedAt))
            .col(timestamp(StudioSessions::UpdatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("studio_sessions_user_fk")
                    .from(StudioSessionsNew::Table, StudioSessions::UserId)
                    .to(Alias::new("users"), Alias::new("id"))
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(TracksNew::Table)
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
                    .from(TracksNew::Table, Tracks::SessionId)
                    .to(StudioSessionsNew::Table, StudioSessions::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned(),
    )
    .await?;
    let db = m.get_connection();
    for sql in [
        format!("INSERT INTO studio_sessions_new ({SESSION_COLUMNS}) SELECT {SESSION_COLUMNS} FROM studio_sessions"),
        format!("INSERT INTO tracks_new ({TRACK_COLUMNS}) SELECT {TRACK_COLUMNS} FROM tracks"),
    ] {
        db.execute_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    }
    m.drop_table(Table::drop().table(Tracks::Table).to_owned()).await?;
    m.drop_table(Table::drop().table(StudioSessions::Table).to_owned()).await?;
    m.rename_table(Table::rename().table(StudioSessionsNew::Table, StudioSessions::Table).to_owned()).await?;
    m.rename_table(Table::rename().table(TracksNew::Table, Tracks::Table).to_owned()).await?;
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
    m.create_index(
        Index::create()
            .name("studio_sessions_user_idx")
            .table(StudioSessions::Table)
            .col(StudioSessions::UserId)
            .to_owned(),
    )
    .await
}
