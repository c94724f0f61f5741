//! `parties`: artists, writers, publishers and labels.

use sea_orm::entity::prelude::*;

/// A party row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parties")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// `artist`, `writer`, `publisher` or `label` ([`omnisonic_domain::catalogue::PartyKind`]).
    pub kind: String,
    /// Interested Party Information number, if known.
    pub ipi: Option<String>,
    /// International Standard Name Identifier, if known.
    pub isni: Option<String>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
}

/// Relations of a party.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The party's contributions.
    #[sea_orm(has_many = "super::contribution::Entity")]
    Contribution,
}

impl Related<super::contribution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contribution.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
