//! `cycles`: accounting periods of the royalty ledger.

use sea_orm::entity::prelude::*;

/// A cycle row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "cycles")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// A name people use, e.g. "2026 Q1".
    pub name: String,
    /// First day of the period.
    pub period_start: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// `open` or `closed`.
    pub status: String,
    /// How many entries it holds (the next entry's position is this + 1).
    pub entry_count: i64,
    /// The last entry's chain hash (the genesis hash while empty), hex.
    pub last_hash: String,
    /// Who opened it.
    pub created_by: Option<Uuid>,
    /// When it was opened.
    pub created_at: DateTimeUtc,
    /// When it was closed.
    pub closed_at: Option<DateTimeUtc>,
}

/// Relations of a cycle (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
