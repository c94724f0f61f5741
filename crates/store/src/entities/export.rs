//! `exports`: a mixdown of a studio session rendered to a file (spec 1.3's `Export`).

use sea_orm::entity::prelude::*;

/// An export row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "exports")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The studio session mixed.
    pub session_id: Uuid,
    /// Who asked for it (the session's owner).
    pub user_id: Uuid,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// `wav`, `flac` or `mp3`.
    pub format: String,
    /// WAV: 16 or 24 bits per sample (FLAC is always 16); `None` for MP3.
    pub bit_depth: Option<i32>,
    /// MP3: 192 or 320 kbit/s; `None` otherwise.
    pub bitrate_kbps: Option<i32>,
    /// 0–100.
    pub progress: i32,
    /// Object key of the finished file (spec's `fileUrl`: clients get a download URL for it, never the key).
    pub storage_key: Option<String>,
    /// Size of the finished file in bytes.
    pub file_size: Option<i64>,
    /// Why it failed, in words for the user.
    pub error_message: Option<String>,
    /// When it was asked for.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// When it completed.
    pub completed_at: Option<DateTimeUtc>,
}

/// Relations of an export (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
