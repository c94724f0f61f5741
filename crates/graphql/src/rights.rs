//! GraphQL types of the rights graph: the royalty ledger (cycles, entries, checkpoints, statements) and licenses.

use crate::error::from_store;
use crate::types::{Party, Work, load_err, loader};
use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use omnisonic_domain::ledger as dledger;
use omnisonic_domain::license as dlicense;
use omnisonic_store::entities::{cycle, cycle_checkpoint, ledger_entry, license};

mirror_enum!(
    /// Which right a license grants.
    RightsType: dlicense::RightsType {
        /// Reproducing the composition (records, downloads, streams).
        Mechanical,
        /// Performing the composition in public.
        Performance,
        /// Setting the music to picture.
        Synchronization,
        /// Using the master recording.
        Master,
    }
);

mirror_enum!(
    /// Where a license is in its life.
    LicenseStatus: dlicense::LicenseStatus {
        /// Being prepared; grants nothing and collides with nothing.
        Draft,
        /// In force.
        Active,
        /// Its end date has passed.
        Expired,
        /// Ended early by the licensor.
        Revoked,
    }
);

mirror_enum!(
    /// What a ledger entry records.
    EntryKind: dledger::EntryKind {
        /// Royalties earned by the party.
        Royalty,
        /// An advance paid to the party.
        Advance,
        /// An advance being earned back.
        Recoupment,
        /// A correction of an earlier entry.
        Adjustment,
        /// A fee charged to the party.
        Fee,
    }
);

mirror_enum!(
    /// Whether a cycle still takes entries.
    CycleStatus: dledger::CycleStatus {
        /// Entries may be added.
        Open,
        /// Frozen by a checkpoint.
        Closed,
    }
);

fn unknown(what: &str) -> async_graphql::Error {
    crate::error::coded(crate::ErrorCode::Internal, format!("unknown {what}"))
}

fn id(uuid: uuid::Uuid) -> ID {
    ID(uuid.to_string())
}

/// A license to use a work (spec 2.2).
pub struct License(pub license::Model);

#[Object]
impl License {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn work_id(&self) -> ID {
        id(self.0.work_id)
    }
    /// The licensed work.
    async fn work(&self, ctx: &Context<'_>) -> Result<Option<Work>> {
        Ok(loader(ctx).load_one(crate::loaders::WorkKey(self.0.work_id)).await.map_err(load_err)?.map(Work))
    }
    /// Who the license is granted to.
    async fn licensee(&self) -> &str {
        &self.0.licensee
    }
    /// ISO 3166-1 alpha-2 code; null is worldwide.
    async fn territory(&self) -> Option<&str> {
        self.0.territory.as_deref()
    }
    async fn rights_type(&self) -> Result<RightsType> {
        RightsType::from_stored(&self.0.rights_type).ok_or_else(|| unknown("rights type"))
    }
    /// First instant in force.
    async fn effective_from(&self) -> DateTime<Utc> {
        self.0.effective_from
    }
    /// First instant no longer in force; null is open-ended.
    async fn expires_on(&self) -> Option<DateTime<Utc>> {
        self.0.expires_on
    }
    /// Free-form metadata.
    async fn terms(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.terms.clone())
    }
    async fn status(&self) -> Result<LicenseStatus> {
        LicenseStatus::from_stored(&self.0.status).ok_or_else(|| unknown("license status"))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Two licenses of one work that overlap in territory, right and time.
pub struct LicenseConflict(pub license::Model, pub license::Model);

#[Object]
impl LicenseConflict {
    /// The older of the two.
    async fn license(&self) -> License {
        License(self.0.clone())
    }
    /// The one it collides with.
    async fn conflicts_with(&self) -> License {
        License(self.1.clone())
    }
}

/// An amount of money in integer minor units (cents), never a float.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// Amount in minor units, as a string: it may exceed the 53 bits a JSON number keeps exactly.
    pub amount_minor: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// One party's total in one currency.
#[derive(Clone)]
pub struct PartyTotal(pub dledger::PartyTotal);

#[Object]
impl PartyTotal {
    async fn party_id(&self) -> ID {
        id(self.0.party_id)
    }
    async fn party(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        Ok(loader(ctx).load_one(crate::loaders::PartyKey(self.0.party_id)).await.map_err(load_err)?.map(Party))
    }
    async fn total(&self) -> Money {
        Money { amount_minor: self.0.amount_minor.to_string(), currency: self.0.currency.clone() }
    }
}

/// An accounting period of the royalty ledger.
pub struct Cycle(pub cycle::Model);

#[Object]
impl Cycle {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn period_start(&self) -> NaiveDate {
        self.0.period_start
    }
    async fn period_end(&self) -> NaiveDate {
        self.0.period_end
    }
    async fn status(&self) -> Result<CycleStatus> {
        CycleStatus::from_stored(&self.0.status).ok_or_else(|| unknown("cycle status"))
    }
    /// How many entries it holds.
    async fn entry_count(&self) -> i64 {
        self.0.entry_count
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Entries in position order after position `after`, at most `first` (1–100, default 50).
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, crate::MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<i64>,
        party_id: Option<ID>,
    ) -> Result<Vec<LedgerEntry>> {
        let first = crate::query::page_size(first, 50)?;
        let party = party_id.map(|p| crate::query::parse_id("partyId", &p)).transpose()?;
        let db = crate::query::db(ctx);
        let rows = omnisonic_store::ledger::entries(db, self.0.id, party, after, first).await.map_err(from_store)?;
        Ok(rows.into_iter().map(LedgerEntry).collect())
    }
    /// What closing the cycle froze; null while open.
    async fn checkpoint(&self, ctx: &Context<'_>) -> Result<Option<CycleCheckpoint>> {
        let db = crate::query::db(ctx);
        let mut rows = omnisonic_store::ledger::checkpoints_by_cycles(db, &[self.0.id]).await.map_err(from_store)?;
        Ok(rows.pop().map(CycleCheckpoint))
    }
}

/// Money owed to (positive) or by (negative) a party in a cycle.
pub struct LedgerEntry(pub ledger_entry::Model);

#[Object]
impl LedgerEntry {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn cycle_id(&self) -> ID {
        id(self.0.cycle_id)
    }
    /// Position in the cycle, from 1.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn party_id(&self) -> ID {
        id(self.0.party_id)
    }
    async fn party(&self, ctx: &Context<'_>) -> Result<Option<Party>> {
        Ok(loader(ctx).load_one(crate::loaders::PartyKey(self.0.party_id)).await.map_err(load_err)?.map(Party))
    }
    async fn work_id(&self) -> Option<ID> {
        self.0.work_id.map(id)
    }
    async fn recording_id(&self) -> Option<ID> {
        self.0.recording_id.map(id)
    }
    async fn kind(&self) -> Result<EntryKind> {
        EntryKind::from_stored(&self.0.kind).ok_or_else(|| unknown("entry kind"))
    }
    async fn amount(&self) -> Money {
        Money { amount_minor: self.0.amount_minor.to_string(), currency: self.0.currency.clone() }
    }
    async fn memo(&self) -> Option<&str> {
        self.0.memo.as_deref()
    }
    /// SHA-256 over the previous entry's hash and this entry's facts, hex.
    async fn chain_hash(&self) -> &str {
        &self.0.chain_hash
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What closing a cycle froze: its entry count, last chain hash and per-party totals.
pub struct CycleCheckpoint(pub cycle_checkpoint::Model);

#[Object]
impl CycleCheckpoint {
    async fn cycle_id(&self) -> ID {
        id(self.0.cycle_id)
    }
    async fn entry_count(&self) -> i64 {
        self.0.entry_count
    }
    async fn chain_hash(&self) -> &str {
        &self.0.chain_hash
    }
    async fn totals(&self) -> Vec<PartyTotal> {
        omnisonic_store::ledger::checkpoint_totals(&self.0).into_iter().map(PartyTotal).collect()
    }
    async fn closed_at(&self) -> DateTime<Utc> {
        self.0.closed_at
    }
}

/// The result of checking a checkpoint against the entries as they are now.
#[derive(SimpleObject)]
pub struct CheckpointVerification {
    /// Whether everything still matches.
    pub valid: bool,
    /// How many entries there are now.
    pub entry_count: i64,
    /// The chain hash recomputed from the entries now.
    pub recomputed_hash: String,
    /// The first entry position where the stored chain breaks: where tampering starts.
    pub first_bad_seq: Option<i64>,
    /// What does not match, in words.
    pub problems: Vec<String>,
}

impl From<dledger::Verification> for CheckpointVerification {
    fn from(v: dledger::Verification) -> Self {
        Self {
            valid: v.valid,
            entry_count: v.entry_count,
            recomputed_hash: v.recomputed_hash,
            first_bad_seq: v.first_bad_seq,
            problems: v.problems,
        }
    }
}

/// One party's statement for one cycle.
#[derive(SimpleObject)]
pub struct Statement {
    /// The cycle.
    pub cycle: Cycle,
    /// The party.
    pub party: Party,
    /// The party's entries, in position order.
    pub entries: Vec<LedgerEntry>,
    /// Its totals, one per currency.
    pub totals: Vec<Money>,
}
