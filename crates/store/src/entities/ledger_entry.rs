//! `ledger_entries`: money owed to or by a party in a cycle, chained by hash.

use sea_orm::entity::prelude::*;

/// A ledger entry row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The cycle it belongs to.
    pub cycle_id: Uuid,
    /// Position in the cycle, from 1.
    pub seq: i64,
    /// The party.
    pub party_id: Uuid,
    /// The work it concerns, if any.
    pub work_id: Option<Uuid>,
    /// The recording it concerns, if any.
    pub recording_id: Option<Uuid>,
    /// `royalty`, `advance`, `recoupment`, `adjustment` or `fee`.
    pub kind: String,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Free-text note (not covered by the hash).
    pub memo: Option<String>,
    /// The chain hash written with the entry, hex.
    pub chain_hash: String,
    /// Who wrote it.
    pub created_by: Option<Uuid>,
    /// When it was written (whole microseconds, as hashed).
    pub created_at: DateTimeUtc,
}

/// Relations of an entry (none navigated).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
