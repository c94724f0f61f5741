//! `contributions`: who did what on a work or recording, and their share.

use sea_orm::entity::prelude::*;

/// A contribution row: exactly one of `work_id` and `recording_id` is set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contributions")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The contributing party.
    pub party_id: Uuid,
    /// The work contributed to.
    pub work_id: Option<Uuid>,
    /// The recording contributed to.
    pub recording_id: Option<Uuid>,
    /// Role ([`omnisonic_domain::catalogue::Role`]).
    pub role: String,
    /// Share in basis points, 0..=10,000; per role the shares of one work sum to at most 10,000.
    pub share_bps: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
}

/// Relations of a contribution.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The party.
    #[sea_orm(belongs_to = "super::party::Entity", from = "Column::PartyId", to = "super::party::Column::Id")]
    Party,
    /// The work.
    #[sea_orm(belongs_to = "super::work::Entity", from = "Column::WorkId", to = "super::work::Column::Id")]
    Work,
    /// The recording.
    #[sea_orm(
        belongs_to = "super::recording::Entity",
        from = "Column::RecordingId",
        to = "super::recording::Column::Id"
    )]
    Recording,
}

impl Related<super::party::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Party.def()
    }
}

impl Related<super::work::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Work.def()
    }
}

impl Related<super::recording::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Recording.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
