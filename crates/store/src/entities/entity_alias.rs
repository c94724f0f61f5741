//! `entity_aliases`: other names of parties, works and recordings, for tagging ("RHCP", "Bey").

use sea_orm::entity::prelude::*;

/// An alias row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entity_aliases")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `party`, `work` or `recording`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: Uuid,
    /// The other name.
    pub alias: String,
    /// The editor who added it.
    pub created_by: Option<Uuid>,
    /// When it was added.
    pub created_at: DateTimeUtc,
}

/// Relations of an alias.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
