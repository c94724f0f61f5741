//! `recordings`: sound recordings, unique by ISRC.

use sea_orm::entity::prelude::*;

/// A recording row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "recordings")]
pub struct Model {
    /// Primary key (UUIDv7); also the pagination order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Compact upper-case ISRC, unique.
    #[sea_orm(unique)]
    pub isrc: String,
    /// Title.
    pub title: String,
    /// Main artist credit.
    pub artist: String,
    /// Length in seconds.
    pub duration_seconds: Option<i32>,
    /// Release date.
    pub released_at: Option<Date>,
    /// Genre label.
    pub genre: Option<String>,
    /// The work this records, if linked.
    pub work_id: Option<Uuid>,
    /// `title` lower-cased (Unicode), for case-insensitive search on every backend.
    pub title_folded: String,
    /// `artist` lower-cased (Unicode).
    pub artist_folded: String,
    /// `genre` lower-cased (Unicode).
    pub genre_folded: Option<String>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a recording.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The recorded work.
    #[sea_orm(belongs_to = "super::work::Entity", from = "Column::WorkId", to = "super::work::Column::Id")]
    Work,
    /// Contributions to the recording.
    #[sea_orm(has_many = "super::contribution::Entity")]
    Contribution,
}

impl Related<super::work::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Work.def()
    }
}

impl Related<super::contribution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contribution.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// The search form of a text: Unicode lower case, the same on SQLite and PostgreSQL.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}
