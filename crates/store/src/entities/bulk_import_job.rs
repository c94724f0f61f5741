//! `bulk_import_jobs`: one uploaded file of recordings being imported (spec 2.3's `BulkImportJob`).

use sea_orm::entity::prelude::*;

/// A bulk import job row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_import_jobs")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who uploaded it; `None` for imports run from the command line.
    pub user_id: Option<Uuid>,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// `csv` or `jsonl`.
    pub format: String,
    /// The uploaded file's name (made safe), for people.
    pub file_name: String,
    /// Where the file is: its object key, or `file:` and a path for the command line (spec's `fileUrl`).
    pub file_key: String,
    /// Its size in bytes.
    pub file_size: i64,
    /// Records per batch, fixed when the job is created so that a resumed run cuts the same batches.
    pub batch_size: i32,
    /// Records in the file: counted from its lines on upload, exact once completed.
    pub total_records: i64,
    /// Records processed so far (accepted + rejected).
    pub processed_records: i64,
    /// Records written.
    pub accepted_records: i64,
    /// Records rejected.
    pub rejected_records: i64,
    /// Records written with a warning (a later duplicate of an earlier ISRC).
    pub warning_records: i64,
    /// Recordings this import created.
    pub created_records: i64,
    /// Existing recordings it changed (the rest of the accepted ones were already as the file says).
    pub updated_records: i64,
    /// Why the job failed, in words for the user.
    pub failure: Option<String>,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When its row last changed.
    pub updated_at: DateTimeUtc,
    /// When a worker first started it.
    pub started_at: Option<DateTimeUtc>,
    /// When it completed or failed.
    pub completed_at: Option<DateTimeUtc>,
}

/// Relations: none navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
