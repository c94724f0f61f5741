//! `works`: musical works (compositions).

use sea_orm::entity::prelude::*;

/// A work row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "works")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// ISWC in display form `T-DDD.DDD.DDD-C`; unique when present.
    #[sea_orm(unique)]
    pub iswc: Option<String>,
    /// Genre labels, a JSON array of strings.
    pub genres: Json,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a work.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Contributions to the work.
    #[sea_orm(has_many = "super::contribution::Entity")]
    Contribution,
    /// Recordings of the work.
    #[sea_orm(has_many = "super::recording::Entity")]
    Recording,
}

impl Related<super::contribution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contribution.def()
    }
}

impl Related<super::recording::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recording.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The genre labels as strings (tolerates a malformed value by ignoring it).
    pub fn genre_list(&self) -> Vec<String> {
        self.genres
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}
