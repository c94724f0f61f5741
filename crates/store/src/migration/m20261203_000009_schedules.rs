//! Periodic work (`schedule_runs`): the last period each schedule was enqueued for. Claiming a period is one
//! conditional upsert, so however many nodes run the scheduler, each period's job is enqueued once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScheduleRuns {
    Table,
    Name,
    LastPeriod,
    ClaimedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScheduleRuns::Table)
                .col(ColumnDef::new(ScheduleRuns::Name).string_len(64).not_null().primary_key())
                .col(ColumnDef::new(ScheduleRuns::LastPeriod).big_integer().not_null())
                .col(ColumnDef::new(ScheduleRuns::ClaimedAtMs).big_integer().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ScheduleRuns::Table).to_owned()).await
    }
}
