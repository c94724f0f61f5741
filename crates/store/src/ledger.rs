//! The royalty ledger: cycles, hash-chained entries, checkpoints and statements.
//!
//! Appending and closing both take the cycle row's write lock first (a no-op UPDATE that also checks the cycle is
//! open), so an entry can never slip into a cycle that is being closed, and positions and hashes are assigned one
//! writer at a time per cycle.

use crate::StoreError;
use crate::entities::{cycle, cycle_checkpoint, ledger_entry, party, recording, work};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use omnisonic_domain::ValidationErrors;
use omnisonic_domain::ledger::{
    self, Checkpoint, CycleStatus, EntryFacts, MAX_CYCLE_NAME_CHARS, NewEntry, PartyTotal, Verification,
};
use omnisonic_domain::validation::required_text;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// Opens a cycle covering `start..=end`.
pub async fn create_cycle(
    db: &DatabaseConnection,
    name: &str,
    start: NaiveDate,
    end: NaiveDate,
    created_by: Option<Uuid>,
) -> Result<cycle::Model, StoreError> {
    let mut errors = ValidationErrors::default();
    let name = required_text(&mut errors, "name", name, MAX_CYCLE_NAME_CHARS);
    if end < start {
        errors.add("periodEnd", "must not be before periodStart");
    }
    errors.into_result(())?;
    let id = Uuid::now_v7();
    let row = cycle::ActiveModel {
        id: Set(id),
        name: Set(name),
        period_start: Set(start),
        period_end: Set(end),
        status: Set(CycleStatus::Open.as_str().to_owned()),
        entry_count: Set(0),
        last_hash: Set(ledger::to_hex(&ledger::genesis(id))),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
    };
    Ok(cycle::Entity::insert(row).exec_with_returning(db).await?)
}

/// Cycles with these ids.
pub async fn cycles_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<cycle::Model>, StoreError> {
    Ok(cycle::Entity::find().filter(cycle::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// A page of cycles, newest first, before `before`.
pub async fn list_cycles(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<cycle::Model>, StoreError> {
    let mut query = cycle::Entity::find();
    if let Some(before) = before {
        query = query.filter(cycle::Column::Id.lt(before));
    }
    Ok(query.order_by_desc(cycle::Column::Id).limit(limit).all(db).await?)
}

/// Locks an open cycle inside `txn`: `NotFound` when it does not exist, a conflict when it is closed.
async fn lock_open_cycle(txn: &impl ConnectionTrait, cycle_id: Uuid) -> Result<cycle::Model, StoreError> {
    let locked = cycle::Entity::update_many()
        .col_expr(cycle::Column::EntryCount, Expr::col(cycle::Column::EntryCount))
        .filter(cycle::Column::Id.eq(cycle_id))
        .filter(cycle::Column::Status.eq(CycleStatus::Open.as_str()))
        .exec(txn)
        .await?;
    let found = cycle::Entity::find_by_id(cycle_id).one(txn).await?;
    match found {
        None => Err(StoreError::NotFound { entity: "cycle", id: cycle_id.to_string() }),
        Some(_) if locked.rows_affected == 0 => {
            Err(StoreError::Conflict { field: "cycleId".into(), reason: "is closed: no entries can be added".into() })
        }
        Some(cycle) => Ok(cycle),
    }
}

/// The facts an entry's hash covers.
fn facts(e: &ledger_entry::Model) -> EntryFacts<'_> {
    EntryFacts {
        id: e.id,
        seq: e.seq,
        party_id: e.party_id,
        work_id: e.work_id,
        recording_id: e.recording_id,
        kind: &e.kind,
        amount_minor: e.amount_minor,
        currency: &e.currency,
        created_at_micros: e.created_at.timestamp_micros(),
    }
}

/// Checks that what an entry refers to exists, so a bad id is a 404-style error rather than a foreign-key failure.
async fn check_references(txn: &impl ConnectionTrait, entry: &NewEntry) -> Result<(), StoreError> {
    if party::Entity::find_by_id(entry.party_id).one(txn).await?.is_none() {
        return Err(StoreError::NotFound { entity: "party", id: entry.party_id.to_string() });
    }
    if let Some(id) = entry.work_id
        && work::Entity::find_by_id(id).one(txn).await?.is_none()
    {
        return Err(StoreError::NotFound { entity: "work", id: id.to_string() });
    }
    if let Some(id) = entry.recording_id
        && recording::Entity::find_by_id(id).one(txn).await?.is_none()
    {
        return Err(StoreError::NotFound { entity: "recording", id: id.to_string() });
    }
    Ok(())
}

/// Appends an entry to an open cycle, chaining its hash onto the cycle's last one.
pub async fn append_entry(
    db: &DatabaseConnection,
    cycle_id: Uuid,
    entry: &NewEntry,
    created_by: Option<Uuid>,
) -> Result<ledger_entry::Model, StoreError> {
    let txn = db.begin().await?;
    let cycle = lock_open_cycle(&txn, cycle_id).await?;
    check_references(&txn, entry).await?;
    let prev = ledger::from_hex(&cycle.last_hash)
        .ok_or_else(|| StoreError::Database(sea_orm::DbErr::Custom(format!("cycle {cycle_id} has a corrupt hash"))))?;
    // Both databases keep whole microseconds; hashing anything finer would not survive the round trip.
    let created_at: DateTime<Utc> = Utc::now().trunc_subsecs(6);
    let mut row = ledger_entry::Model {
        id: Uuid::now_v7(),
        cycle_id,
        seq: cycle.entry_count + 1,
        party_id: entry.party_id,
        work_id: entry.work_id,
        recording_id: entry.recording_id,
        kind: entry.kind.as_str().to_owned(),
        amount_minor: entry.amount_minor,
        currency: entry.currency.as_str().to_owned(),
        memo: entry.memo.clone(),
        chain_hash: String::new(),
        created_by,
        created_at,
    };
    row.chain_hash = ledger::to_hex(&ledger::chain(&prev, &facts(&row)));
    let saved = ledger_entry::Entity::insert(ledger_entry::ActiveModel::from(row)).exec_with_returning(&txn).await?;
    cycle::Entity::update_many()
        .col_expr(cycle::Column::EntryCount, Expr::value(saved.seq))
        .col_expr(cycle::Column::LastHash, Expr::value(saved.chain_hash.clone()))
        .filter(cycle::Column::Id.eq(cycle_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Entries of a cycle in position order after position `after`, optionally of one party.
pub async fn entries(
    db: &impl ConnectionTrait,
    cycle_id: Uuid,
    party_id: Option<Uuid>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<ledger_entry::Model>, StoreError> {
    let mut query = ledger_entry::Entity::find().filter(ledger_entry::Column::CycleId.eq(cycle_id));
    if let Some(party) = party_id {
        query = query.filter(ledger_entry::Column::PartyId.eq(party));
    }
    if let Some(after) = after {
        query = query.filter(ledger_entry::Column::Seq.gt(after));
    }
    Ok(query.order_by_asc(ledger_entry::Column::Seq).limit(limit).all(db).await?)
}

/// Every entry of a cycle in position order.
async fn all_entries(db: &impl ConnectionTrait, cycle_id: Uuid) -> Result<Vec<ledger_entry::Model>, StoreError> {
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CycleId.eq(cycle_id))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(db)
        .await?)
}

/// Per-party totals over every entry of a cycle, reading only the three columns they need.
pub async fn cycle_totals(db: &impl ConnectionTrait, cycle_id: Uuid) -> Result<Vec<PartyTotal>, StoreError> {
    let rows: Vec<(Uuid, String, i64)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::PartyId)
        .column(ledger_entry::Column::Currency)
        .column(ledger_entry::Column::AmountMinor)
        .filter(ledger_entry::Column::CycleId.eq(cycle_id))
        .into_tuple()
        .all(db)
        .await?;
    summed(rows.iter().map(|(p, c, a)| (*p, c.as_str(), *a)))
}

/// Per-party totals of a set of entries.
fn totals_of(entries: &[ledger_entry::Model]) -> Result<Vec<PartyTotal>, StoreError> {
    summed(entries.iter().map(|e| (e.party_id, e.currency.as_str(), e.amount_minor)))
}

/// [`ledger::totals`], with a total past 64 bits reported as invalid input.
fn summed<'a>(rows: impl IntoIterator<Item = (Uuid, &'a str, i64)>) -> Result<Vec<PartyTotal>, StoreError> {
    ledger::totals(rows).map_err(|overflow| {
        let mut errors = ValidationErrors::default();
        errors.add("amountMinor", overflow.to_string());
        StoreError::Invalid(errors)
    })
}

/// Closes a cycle: freezes its entry count, last chain hash and per-party totals in a checkpoint.
pub async fn close_cycle(
    db: &DatabaseConnection,
    cycle_id: Uuid,
    closed_by: Option<Uuid>,
) -> Result<(cycle::Model, cycle_checkpoint::Model), StoreError> {
    let txn = db.begin().await?;
    let cycle = lock_open_cycle(&txn, cycle_id).await.map_err(|err| match err {
        StoreError::Conflict { .. } => {
            StoreError::Conflict { field: "cycleId".into(), reason: "is already closed".into() }
        }
        other => other,
    })?;
    let entries = all_entries(&txn, cycle_id).await?;
    let totals = totals_of(&entries)?;
    let now = Utc::now();
    let checkpoint = cycle_checkpoint::ActiveModel {
        cycle_id: Set(cycle_id),
        entry_count: Set(cycle.entry_count),
        chain_hash: Set(cycle.last_hash.clone()),
        totals: Set(
            serde_json::to_value(&totals).map_err(|e| StoreError::Database(sea_orm::DbErr::Json(e.to_string())))?
        ),
        closed_by: Set(closed_by),
        closed_at: Set(now),
    };
    let checkpoint = cycle_checkpoint::Entity::insert(checkpoint).exec_with_returning(&txn).await?;
    cycle::Entity::update_many()
        .col_expr(cycle::Column::Status, Expr::value(CycleStatus::Closed.as_str()))
        .col_expr(cycle::Column::ClosedAt, Expr::value(now))
        .filter(cycle::Column::Id.eq(cycle_id))
        .exec(&txn)
        .await?;
    let closed = cycle::Entity::find_by_id(cycle_id)
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound { entity: "cycle", id: cycle_id.to_string() })?;
    txn.commit().await?;
    Ok((closed, checkpoint))
}

/// Checkpoints of these cycles.
pub async fn checkpoints_by_cycles(
    db: &impl ConnectionTrait,
    cycle_ids: &[Uuid],
) -> Result<Vec<cycle_checkpoint::Model>, StoreError> {
    Ok(cycle_checkpoint::Entity::find()
        .filter(cycle_checkpoint::Column::CycleId.is_in(cycle_ids.iter().copied()))
        .all(db)
        .await?)
}

/// The totals a checkpoint froze.
pub fn checkpoint_totals(checkpoint: &cycle_checkpoint::Model) -> Vec<PartyTotal> {
    serde_json::from_value(checkpoint.totals.clone()).unwrap_or_default()
}

/// Verifies a closed cycle's checkpoint against its entries as they are now; `None` when the cycle is not closed.
pub async fn verify_checkpoint(db: &impl ConnectionTrait, cycle_id: Uuid) -> Result<Option<Verification>, StoreError> {
    match checkpoints_by_cycles(db, &[cycle_id]).await?.pop() {
        Some(checkpoint) => Ok(Some(verify(db, &checkpoint).await?)),
        None => Ok(None),
    }
}

/// Verifies an already loaded checkpoint against its cycle's entries as they are now.
pub async fn verify(
    db: &impl ConnectionTrait,
    checkpoint: &cycle_checkpoint::Model,
) -> Result<Verification, StoreError> {
    let cycle_id = checkpoint.cycle_id;
    let entries = all_entries(db, cycle_id).await?;
    let frozen = Checkpoint {
        entry_count: checkpoint.entry_count,
        chain_hash: checkpoint.chain_hash.clone(),
        totals: checkpoint_totals(checkpoint),
    };
    let with_hashes: Vec<(EntryFacts<'_>, &str)> = entries.iter().map(|e| (facts(e), e.chain_hash.as_str())).collect();
    Ok(ledger::verify(cycle_id, &with_hashes, &frozen))
}

/// One party's statement for a cycle: its entries and its totals per currency.
pub async fn statement(
    db: &impl ConnectionTrait,
    cycle_id: Uuid,
    party_id: Uuid,
) -> Result<(Vec<ledger_entry::Model>, Vec<PartyTotal>), StoreError> {
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::CycleId.eq(cycle_id))
        .filter(ledger_entry::Column::PartyId.eq(party_id))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(db)
        .await?;
    let totals = totals_of(&entries)?;
    Ok((entries, totals))
}
