//! Sign-in: users, their provider accounts, server-side sign-in sessions, one-time email tokens; and the owner
//! column on studio sessions, added nullable and backfilled (made required by the next migration, as spec 1.1 asks).

use super::{timestamp, uuid_pk};
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Image,
    EmailVerifiedAt,
    PasswordHash,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    UserId,
    Provider,
    ProviderAccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuthSessions {
    Table,
    Id,
    UserId,
    Data,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VerificationTokens {
    Table,
    TokenHash,
    Identifier,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StudioSessions {
    Table,
    UserId,
}

/// The owner given to studio sessions that predate sign-in: a disabled user nobody can sign in as.
const LEGACY_OWNER_NAME: &str = "Owner of sessions created before sign-in";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(uuid_pk(Users::Id))
                .col(ColumnDef::new(Users::Email).string_len(320))
                .col(ColumnDef::new(Users::Name).string_len(200))
                .col(ColumnDef::new(Users::Image).text())
                .col(ColumnDef::new(Users::EmailVerifiedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(Users::PasswordHash).text())
                .col(ColumnDef::new(Users::DisabledAt).timestamp_with_time_zone())
                .col(timestamp(Users::CreatedAt))
                .col(timestamp(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("users_email_idx").unique().table(Users::Table).col(Users::Email).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Accounts::Table)
                .col(uuid_pk(Accounts::Id))
                .col(ColumnDef::new(Accounts::UserId).uuid().not_null())
                .col(ColumnDef::new(Accounts::Provider).string_len(32).not_null())
                .col(ColumnDef::new(Accounts::ProviderAccountId).string_len(255).not_null())
                .col(timestamp(Accounts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("accounts_user_fk")
                        .from(Accounts::Table, Accounts::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("accounts_provider_account_idx")
                .unique()
                .table(Accounts::Table)
                .col(Accounts::Provider)
                .col(Accounts::ProviderAccountId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("accounts_user_idx").table(Accounts::Table).col(Accounts::UserId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthSessions::Table)
                .col(ColumnDef::new(AuthSessions::Id).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(AuthSessions::UserId).uuid())
                .col(ColumnDef::new(AuthSessions::Data).text().not_null())
                .col(ColumnDef::new(AuthSessions::ExpiresAt).timestamp_with_time_zone().not_null())
                .col(timestamp(AuthSessions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("auth_sessions_user_fk")
                        .from(AuthSessions::Table, AuthSessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("auth_sessions_user_idx")
                .table(AuthSessions::Table)
                .col(AuthSessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("auth_sessions_expires_idx")
                .table(AuthSessions::Table)
                .col(AuthSessions::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(VerificationTokens::Table)
                .col(ColumnDef::new(VerificationTokens::TokenHash).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(VerificationTokens::Identifier).string_len(320).not_null())
                .col(ColumnDef::new(VerificationTokens::ExpiresAt).timestamp_with_time_zone().not_null())
                .col(timestamp(VerificationTokens::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("verification_tokens_identifier_idx")
                .table(VerificationTokens::Table)
                .col(VerificationTokens::Identifier)
                .to_owned(),
        )
        .await?;

        // Nullable first, so existing rows stay valid. A column-level REFERENCES is the one form of foreign key that
        // both PostgreSQL and SQLite accept in ALTER TABLE … ADD COLUMN.
        m.alter_table(
            Table::alter()
                .table(StudioSessions::Table)
                .add_column(
                    ColumnDef::new(StudioSessions::UserId)
                        .uuid()
                        .null()
                        .extra("REFERENCES users (id) ON DELETE CASCADE"),
                )
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
        .await?;
        backfill_owner(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column that carries a foreign key; roll back there by restoring a backup.
        if m.get_database_backend() == sea_orm::DbBackend::Sqlite {
            return Err(DbErr::Migration("this migration cannot be reverted on SQLite: restore a backup".to_owned()));
        }
        m.drop_index(Index::drop().name("studio_sessions_user_idx").table(StudioSessions::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(StudioSessions::Table).drop_column(StudioSessions::UserId).to_owned())
            .await?;
        for table in [
            VerificationTokens::Table.into_iden(),
            AuthSessions::Table.into_iden(),
            Accounts::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

/// Gives every ownerless studio session one owner: a disabled placeholder user, created only when needed. An
/// operator can hand the sessions to a real user later (`UPDATE studio_sessions SET user_id = …`).
async fn backfill_owner(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = db.get_database_backend();
    let orphans = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM studio_sessions WHERE user_id IS NULL".to_owned(),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if orphans == 0 {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let owner = uuid::Uuid::now_v7();
    let insert = Query::insert()
        .into_table(Users::Table)
        .columns([Users::Id, Users::Name, Users::DisabledAt, Users::CreatedAt, Users::UpdatedAt])
        .values_panic([owner.into(), LEGACY_OWNER_NAME.into(), now.into(), now.into(), now.into()])
        .to_owned();
    m.exec_stmt(insert).await?;
    let update = Query::update()
        .table(StudioSessions::Table)
        .value(StudioSessions::UserId, owner)
        .and_where(Expr::col(StudioSessions::UserId).is_null())
        .to_owned();
    m.exec_stmt(update).await
}
