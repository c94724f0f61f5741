//! The rights graph: user roles, the royalty ledger (cycles, entries, checkpoints) and licenses (spec 2.2).
//!
//! Money is a 64-bit integer of minor units with its currency, never a float. Each entry keeps the chain hash
//! written with it and each cycle its running count and last hash, so an append is O(1) and a checkpoint can be
//! verified entry by entry.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
    GrantedAt,
}

#[derive(DeriveIden)]
enum Cycles {
    Table,
    Id,
    Name,
    PeriodStart,
    PeriodEnd,
    Status,
    EntryCount,
    LastHash,
    CreatedBy,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    CycleId,
    Seq,
    PartyId,
    WorkId,
    RecordingId,
    Kind,
    AmountMinor,
    Currency,
    Memo,
    ChainHash,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CycleCheckpoints {
    Table,
    CycleId,
    EntryCount,
    ChainHash,
    Totals,
    ClosedBy,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Licenses {
    Table,
    Id,
    WorkId,
    Licensee,
    Territory,
    RightsType,
    EffectiveFrom,
    ExpiresOn,
    Terms,
    Status,
    SourceKey,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};
        m.create_table(
            Table::create()
                .table(UserRoles::Table)
                .col(ColumnDef::new(UserRoles::UserId).uuid().not_null())
                .col(ColumnDef::new(UserRoles::Role).string_len(32).not_null())
                .col(timestamp(UserRoles::GrantedAt))
                .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
                .foreign_key(&mut fk("user_roles_user_fk", (UserRoles::Table, UserRoles::UserId), "users", Cascade))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Cycles::Table)
                .col(uuid_pk(Cycles::Id))
                .col(ColumnDef::new(Cycles::Name).string_len(255).not_null())
                .col(ColumnDef::new(Cycles::PeriodStart).date().not_null())
                .col(ColumnDef::new(Cycles::PeriodEnd).date().not_null())
                .col(ColumnDef::new(Cycles::Status).string_len(16).not_null())
                .col(ColumnDef::new(Cycles::EntryCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(Cycles::LastHash).string_len(64).not_null())
                .col(ColumnDef::new(Cycles::CreatedBy).uuid())
                .col(timestamp(Cycles::CreatedAt))
                .col(ColumnDef::new(Cycles::ClosedAt).timestamp_with_time_zone())
                .foreign_key(&mut fk("cycles_created_by_fk", (Cycles::Table, Cycles::CreatedBy), "users", SetNull))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LedgerEntries::Table)
                .col(uuid_pk(LedgerEntries::Id))
                .col(ColumnDef::new(LedgerEntries::CycleId).uuid().not_null())
                .col(ColumnDef::new(LedgerEntries::Seq).big_integer().not_null())
                .col(ColumnDef::new(LedgerEntries::PartyId).uuid().not_null())
                .col(ColumnDef::new(LedgerEntries::WorkId).uuid())
                .col(ColumnDef::new(LedgerEntries::RecordingId).uuid())
                .col(ColumnDef::new(LedgerEntries::Kind).string_len(16).not_null())
                .col(ColumnDef::new(LedgerEntries::AmountMinor).big_integer().not_null())
                .col(ColumnDef::new(LedgerEntries::Currency).string_len(3).not_null())
                .col(ColumnDef::new(LedgerEntries::Memo).text())
                .col(ColumnDef::new(LedgerEntries::ChainHash).string_len(64).not_null())
                .col(ColumnDef::new(LedgerEntries::CreatedBy).uuid())
                .col(timestamp(LedgerEntries::CreatedAt))
                .foreign_key(&mut fk(
                    "ledger_cycle_fk",
                    (LedgerEntries::Table, LedgerEntries::CycleId),
                    "cycles",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "ledger_party_fk",
                    (LedgerEntries::Table, LedgerEntries::PartyId),
                    "parties",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "ledger_work_fk",
                    (LedgerEntries::Table, LedgerEntries::WorkId),
                    "works",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "ledger_recording_fk",
                    (LedgerEntries::Table, LedgerEntries::RecordingId),
                    "recordings",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "ledger_created_by_fk",
                    (LedgerEntries::Table, LedgerEntries::CreatedBy),
                    "users",
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ledger_cycle_seq_idx")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::CycleId)
                .col(LedgerEntries::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ledger_party_cycle_idx")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::PartyId)
                .col(LedgerEntries::CycleId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CycleCheckpoints::Table)
                .col(uuid_pk(CycleCheckpoints::CycleId))
                .col(ColumnDef::new(CycleCheckpoints::EntryCount).big_integer().not_null())
                .col(ColumnDef::new(CycleCheckpoints::ChainHash).string_len(64).not_null())
                .col(ColumnDef::new(CycleCheckpoints::Totals).json().not_null())
                .col(ColumnDef::new(CycleCheckpoints::ClosedBy).uuid())
                .col(timestamp(CycleCheckpoints::ClosedAt))
                .foreign_key(&mut fk(
                    "checkpoints_cycle_fk",
                    (CycleCheckpoints::Table, CycleCheckpoints::CycleId),
                    "cycles",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "checkpoints_closed_by_fk",
                    (CycleCheckpoints::Table, CycleCheckpoints::ClosedBy),
                    "users",
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Licenses::Table)
                .col(uuid_pk(Licenses::Id))
                .col(ColumnDef::new(Licenses::WorkId).uuid().not_null())
                .col(ColumnDef::new(Licenses::Licensee).string_len(500).not_null())
                .col(ColumnDef::new(Licenses::Territory).string_len(2))
                .col(ColumnDef::new(Licenses::RightsType).string_len(16).not_null())
                .col(timestamp(Licenses::EffectiveFrom))
                .col(ColumnDef::new(Licenses::ExpiresOn).timestamp_with_time_zone())
                .col(ColumnDef::new(Licenses::Terms).json().not_null())
                .col(ColumnDef::new(Licenses::Status).string_len(16).not_null())
                .col(ColumnDef::new(Licenses::SourceKey).string_len(255).unique_key())
                .col(timestamp(Licenses::CreatedAt))
                .col(timestamp(Licenses::UpdatedAt))
                .foreign_key(&mut fk("licenses_work_fk", (Licenses::Table, Licenses::WorkId), "works", Cascade))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("licenses_work_rights_idx")
                .table(Licenses::Table)
                .col(Licenses::WorkId)
                .col(Licenses::RightsType)
                .col(Licenses::Status)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("licenses_status_expires_idx")
                .table(Licenses::Table)
                .col(Licenses::Status)
                .col(Licenses::ExpiresOn)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["licenses", "cycle_checkpoints", "ledger_entries", "cycles", "user_roles"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
