//! `uploads`: a file a user uploaded (spec 1.2's `Upload`).

use sea_orm::entity::prelude::*;

/// An upload row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "uploads")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who uploaded it (the only user who may see or delete it).
    pub user_id: Uuid,
    /// The studio session that uses it, if any (uploads nobody uses are cleaned up after 30 days).
    pub session_id: Option<Uuid>,
    /// The original file name, made safe; metadata only, never part of the storage key.
    pub file_name: String,
    /// Size in bytes.
    pub file_size: i64,
    /// Media type, from the file's bytes.
    pub mime_type: String,
    /// Object key in storage (`uploads/<user id>/<upload id>`).
    pub storage_key: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// `complete`, or `pending` for a browser-direct upload whose parts are still arriving.
    pub status: String,
    /// The storage's multipart upload id while `pending`.
    pub multipart_id: Option<String>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Uploads relate to nothing the store navigates.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
