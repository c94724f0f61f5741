//! `studio_sessions`: a producer's working session (named so to keep it apart from sign-in sessions).

use sea_orm::entity::prelude::*;

/// A studio session row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "studio_sessions")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The owner: the only user who may change it.
    pub user_id: Uuid,
    /// Title.
    pub title: String,
    /// Notes.
    pub description: Option<String>,
    /// Tempo.
    pub bpm: Option<i32>,
    /// Sample rate of the mix, Hz.
    pub sample_rate: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a studio session.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its tracks.
    #[sea_orm(has_many = "super::track::Entity")]
    Track,
}

impl Related<super::track::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Track.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
