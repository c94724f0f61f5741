//! `cycle_checkpoints`: what closing a cycle froze.

use sea_orm::entity::prelude::*;

/// A checkpoint row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "cycle_checkpoints")]
pub struct Model {
    /// The closed cycle.
    #[sea_orm(primary_key, auto_increment = false)]
    pub cycle_id: Uuid,
    /// How many entries it had.
    pub entry_count: i64,
    /// The last chain hash, hex.
    pub chain_hash: String,
    /// Per-party totals: a JSON array of `{party_id, currency, amount_minor}`.
    pub totals: Json,
    /// Who closed it.
    pub closed_by: Option<Uuid>,
    /// When.
    pub closed_at: DateTimeUtc,
}

/// Relations of a checkpoint (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
