//! `tracks`: the audio tracks of a studio session and their mix settings.

use sea_orm::entity::prelude::*;

/// A track row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tracks")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The owning studio session.
    pub session_id: Uuid,
    /// Name.
    pub name: String,
    /// The uploaded audio this track plays (uploads arrive with the storage issue).
    pub upload_id: Option<Uuid>,
    /// Gain in dB.
    pub gain_db: f64,
    /// Pan, -1..=1.
    pub pan: f64,
    /// Muted.
    pub mute: bool,
    /// Soloed.
    pub solo: bool,
    /// Start offset in samples at the session rate.
    pub start_offset_samples: i64,
    /// Which audio stream of the upload plays (multi-stream stem files), from 0; `None`: the first.
    pub stream_index: Option<i32>,
    /// The source's length in milliseconds, as probed when the track was added; `None` when the file does not say.
    pub duration_ms: Option<i64>,
    /// Order within the session, from 0.
    pub position: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a track.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning session.
    #[sea_orm(
        belongs_to = "super::studio_session::Entity",
        from = "Column::SessionId",
        to = "super::studio_session::Column::Id",
        on_delete = "Cascade"
    )]
    StudioSession,
}

impl Related<super::studio_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StudioSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
