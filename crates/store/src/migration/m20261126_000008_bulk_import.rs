//! Bulk ISRC import (spec 2.3's `BulkImportJob`), its per-batch progress and findings, and personal API tokens.
//!
//! A batch's recordings, its `bulk_import_batches` row and its `bulk_import_issues` rows are written in one
//! transaction, so the batches table is the import's durable progress: a restarted worker skips the batches it
//! finds there, and the job's counts are their sums.

use super::{timestamp, uuid_pk};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BulkImportJobs {
    Table,
    Id,
    UserId,
    Status,
    Format,
    FileName,
    FileKey,
    FileSize,
    BatchSize,
    TotalRecords,
    ProcessedRecords,
    AcceptedRecords,
    RejectedRecords,
    WarningRecords,
    CreatedRecords,
    UpdatedRecords,
    Failure,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum BulkImportBatches {
    Table,
    JobId,
    BatchNo,
    Records,
    Accepted,
    Rejected,
    Warnings,
    Created,
    Updated,
}

#[derive(DeriveIden)]
enum BulkImportIssues {
    Table,
    Id,
    JobId,
    Line,
    Col,
    Value,
    Reason,
    Severity,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Prefix,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BulkImportJobs::Table)
                .col(uuid_pk(BulkImportJobs::Id))
                .col(ColumnDef::new(BulkImportJobs::UserId).uuid())
                .col(ColumnDef::new(BulkImportJobs::Status).string_len(16).not_null())
                .col(ColumnDef::new(BulkImportJobs::Format).string_len(8).not_null())
                .col(ColumnDef::new(BulkImportJobs::FileName).string_len(255).not_null())
                .col(ColumnDef::new(BulkImportJobs::FileKey).string_len(255).not_null())
                .col(ColumnDef::new(BulkImportJobs::FileSize).big_integer().not_null())
                .col(ColumnDef::new(BulkImportJobs::BatchSize).integer().not_null())
                .col(ColumnDef::new(BulkImportJobs::TotalRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::ProcessedRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::AcceptedRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::RejectedRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::WarningRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::CreatedRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::UpdatedRecords).big_integer().not_null().default(0))
                .col(ColumnDef::new(BulkImportJobs::Failure).text())
                .col(timestamp(BulkImportJobs::CreatedAt))
                .col(timestamp(BulkImportJobs::UpdatedAt))
                .col(ColumnDef::new(BulkImportJobs::StartedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(BulkImportJobs::CompletedAt).timestamp_with_time_zone())
                .foreign_key(
                    ForeignKey::create()
                        .name("bulk_import_jobs_user_fk")
                        .from(BulkImportJobs::Table, BulkImportJobs::UserId)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("bulk_import_jobs_user_idx")
                .table(BulkImportJobs::Table)
                .col(BulkImportJobs::UserId)
                .col(BulkImportJobs::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BulkImportBatches::Table)
                .col(ColumnDef::new(BulkImportBatches::JobId).uuid().not_null())
                .col(ColumnDef::new(BulkImportBatches::BatchNo).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Records).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Accepted).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Rejected).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Warnings).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Created).integer().not_null())
                .col(ColumnDef::new(BulkImportBatches::Updated).integer().not_null())
                .primary_key(Index::create().col(BulkImportBatches::JobId).col(BulkImportBatches::BatchNo))
                .foreign_key(
                    ForeignKey::create()
                        .name("bulk_import_batches_job_fk")
                        .from(BulkImportBatches::Table, BulkImportBatches::JobId)
                        .to(BulkImportJobs::Table, BulkImportJobs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BulkImportIssues::Table)
                .col(ColumnDef::new(BulkImportIssues::Id).big_integer().not_null().auto_increment().primary_key())
                .col(ColumnDef::new(BulkImportIssues::JobId).uuid().not_null())
                .col(ColumnDef::new(BulkImportIssues::Line).big_integer().not_null())
                .col(ColumnDef::new(BulkImportIssues::Col).string_len(32))
                .col(ColumnDef::new(BulkImportIssues::Value).text().not_null())
                .col(ColumnDef::new(BulkImportIssues::Reason).text().not_null())
                .col(ColumnDef::new(BulkImportIssues::Severity).string_len(8).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("bulk_import_issues_job_fk")
                        .from(BulkImportIssues::Table, BulkImportIssues::JobId)
                        .to(BulkImportJobs::Table, BulkImportJobs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("bulk_import_issues_job_line_idx")
                .table(BulkImportIssues::Table)
                .col(BulkImportIssues::JobId)
                .col(BulkImportIssues::Line)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(uuid_pk(ApiTokens::Id))
                .col(ColumnDef::new(ApiTokens::UserId).uuid().not_null())
                .col(ColumnDef::new(ApiTokens::Name).string_len(100).not_null())
                .col(ColumnDef::new(ApiTokens::TokenHash).string_len(64).not_null().unique_key())
                .col(ColumnDef::new(ApiTokens::Prefix).string_len(16).not_null())
                .col(timestamp(ApiTokens::CreatedAt))
                .col(ColumnDef::new(ApiTokens::LastUsedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(ApiTokens::RevokedAt).timestamp_with_time_zone())
                .foreign_key(
                    ForeignKey::create()
                        .name("api_tokens_user_fk")
                        .from(ApiTokens::Table, ApiTokens::UserId)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("api_tokens_user_idx").table(ApiTokens::Table).col(ApiTokens::UserId).to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["api_tokens", "bulk_import_issues", "bulk_import_batches", "bulk_import_jobs"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
