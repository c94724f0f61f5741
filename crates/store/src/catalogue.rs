//! Catalogue queries and writes: parties, works, recordings, contributions.
//!
//! Batch lookups (`*_by_ids`, `contributions_for_*`) exist for the GraphQL DataLoaders: each answers a whole page
//! of parents in one statement.

use crate::StoreError;
use crate::entities::{contribution, party, recording, work};
use chrono::Utc;
use omnisonic_domain::catalogue::{NewRecording, NewWork, PartyKind, Role};
use omnisonic_domain::share::{ShareBps, check_role_total};
use omnisonic_domain::{ValidationErrors, WorkId};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters for our widest table.
const INSERT_CHUNK: usize = 1_000;

/// Filters for listing recordings; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct RecordingFilter {
    /// Case-insensitive substring of the artist credit.
    pub artist: Option<String>,
    /// Exact genre label (case-insensitive).
    pub genre: Option<String>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
}

/// `folded_col LIKE '%needle%'` against a column stored lower-cased, with the needle folded the same way and its
/// own wildcards escaped.
fn contains_folded(col: impl sea_orm::sea_query::IntoColumnRef, needle: &str) -> sea_orm::sea_query::SimpleExpr {
    let escaped = recording::fold(needle).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::col(col).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// `LOWER(col) LIKE '%needle%'` for tables without a folded column (work titles; ASCII folding on SQLite).
fn contains_ci(col: impl sea_orm::sea_query::IntoColumnRef, needle: &str) -> sea_orm::sea_query::SimpleExpr {
    let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// A page of recordings in id order after `after`, at most `limit` rows.
pub async fn list_recordings(
    db: &impl ConnectionTrait,
    filter: &RecordingFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<recording::Model>, StoreError> {
    let mut query = recording::Entity::find();
    if let Some(after) = after {
        query = query.filter(recording::Column::Id.gt(after));
    }
    if let Some(artist) = filter.artist.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(contains_folded((recording::Entity, recording::Column::ArtistFolded), artist));
    }
    if let Some(genre) = filter.genre.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(recording::Column::GenreFolded.eq(recording::fold(genre)));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(contains_folded((recording::Entity, recording::Column::TitleFolded), search));
    }
    Ok(query.order_by_asc(recording::Column::Id).limit(limit).all(db).await?)
}

/// Recordings with these ids (any order; missing ids are simply absent).
pub async fn recordings_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<recording::Model>, StoreError> {
    Ok(recording::Entity::find().filter(recording::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The recording with this (already normalised) ISRC.
pub async fn recording_by_isrc(db: &impl ConnectionTrait, isrc: &str) -> Result<Option<recording::Model>, StoreError> {
    Ok(recording::Entity::find().filter(recording::Column::Isrc.eq(isrc)).one(db).await?)
}

/// Recordings of these works.
pub async fn recordings_for_works(
    db: &impl ConnectionTrait,
    work_ids: &[Uuid],
) -> Result<Vec<recording::Model>, StoreError> {
    Ok(recording::Entity::find()
        .filter(recording::Column::WorkId.is_in(work_ids.iter().copied()))
        .order_by_asc(recording::Column::Id)
        .all(db)
        .await?)
}

/// A page of works in id order after `after`, optionally filtered by a title substring.
pub async fn list_works(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<work::Model>, StoreError> {
    let mut query = work::Entity::find();
    if let Some(after) = after {
        query = query.filter(work::Column::Id.gt(after));
    }
    if let Some(search) = search.filter(|s| !s.is_empty()) {
        query = query.filter(contains_ci((work::Entity, work::Column::Title), search));
    }
    Ok(query.order_by_asc(work::Column::Id).limit(limit).all(db).await?)
}

/// Works with these ids.
pub async fn works_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<work::Model>, StoreError> {
    Ok(work::Entity::find().filter(work::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Parties with these ids.
pub async fn parties_by_ids(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<party::Model>, StoreError> {
    Ok(party::Entity::find().filter(party::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Contributions to these recordings, oldest first.
pub async fn contributions_for_recordings(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<contribution::Model>, StoreError> {
    Ok(contribution::Entity::find()
        .filter(contribution::Column::RecordingId.is_in(ids.iter().copied()))
        .order_by_asc(contribution::Column::Id)
        .all(db)
        .await?)
}

/// Contributions to these works, oldest first.
pub async fn contributions_for_works(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<contribution::Model>, StoreError> {
    Ok(contribution::Entity::find()
        .filter(contribution::Column::WorkId.is_in(ids.iter().copied()))
        .order_by_asc(contribution::Column::Id)
        .all(db)
        .await?)
}

/// The first `limit` contributions made by one party, oldest first.
pub async fn contributions_of_party(
    db: &impl ConnectionTrait,
    party_id: Uuid,
    limit: u64,
) -> Result<Vec<contribution::Model>, StoreError> {
    Ok(contribution::Entity::find()
        .filter(contribution::Column::PartyId.eq(party_id))
        .order_by_asc(contribution::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Inserts or updates the recording with this ISRC; returns the row and whether it was newly created.
pub async fn upsert_recording(
    db: &impl ConnectionTrait,
    rec: &NewRecording,
) -> Result<(recording::Model, bool), StoreError> {
    let now = Utc::now();
    let new_id = Uuid::now_v7();
    let row = recording::ActiveModel {
        id: Set(new_id),
        isrc: Set(rec.isrc.as_str().to_owned()),
        title: Set(rec.title.clone()),
        artist: Set(rec.artist.clone()),
        duration_seconds: Set(rec.duration_seconds.map(|d| d as i32)),
        released_at: Set(rec.released_at),
        genre: Set(rec.genre.clone()),
        work_id: Set(None),
        title_folded: Set(recording::fold(&rec.title)),
        artist_folded: Set(recording::fold(&rec.artist)),
        genre_folded: Set(rec.genre.as_deref().map(recording::fold)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let saved = recording::Entity::insert(row)
        .on_conflict(
            OnConflict::column(recording::Column::Isrc)
                .update_columns([
                    recording::Column::Title,
                    recording::Column::Artist,
                    recording::Column::DurationSeconds,
                    recording::Column::ReleasedAt,
                    recording::Column::Genre,
                    recording::Column::TitleFolded,
                    recording::Column::ArtistFolded,
                    recording::Column::GenreFolded,
                    recording::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_with_returning(db)
        .await?;
    let created = saved.id == new_id;
    Ok((saved, created))
}

/// What [`upsert_recording_linked`] did.
#[derive(Debug, Clone)]
pub struct UpsertedRecording {
    /// The recording as stored now.
    pub recording: recording::Model,
    /// Whether it was new.
    pub created: bool,
    /// The work it recorded before this call, if any.
    pub previous_work_id: Option<Uuid>,
}

/// Inserts or updates the recording with this ISRC and, with `work_id`, links it to that work — all in one
/// transaction, so a missing work leaves the recording untouched.
pub async fn upsert_recording_linked(
    db: &DatabaseConnection,
    rec: &NewRecording,
    work_id: Option<Uuid>,
) -> Result<UpsertedRecording, StoreError> {
    let txn = db.begin().await?;
    // Lock first (an existing recording's row; see `lock_row`), then read what it was linked to.
    recording::Entity::update_many()
        .col_expr(recording::Column::UpdatedAt, Expr::col(recording::Column::UpdatedAt))
        .filter(recording::Column::Isrc.eq(rec.isrc.as_str()))
        .exec(&txn)
        .await?;
    let previous_work_id = recording_by_isrc(&txn, rec.isrc.as_str()).await?.and_then(|r| r.work_id);
    if let Some(work_id) = work_id
        && !lock_row::<work::Entity>(&txn, work::Column::Id, work::Column::UpdatedAt, work_id).await?
    {
        return Err(StoreError::NotFound { entity: "work", id: work_id.to_string() });
    }
    let (mut saved, created) = upsert_recording(&txn, rec).await?;
    if let Some(work_id) = work_id {
        let mut row: recording::ActiveModel = saved.into();
        row.work_id = Set(Some(work_id));
        saved = sea_orm::ActiveModelTrait::update(row, &txn).await?;
    }
    txn.commit().await?;
    Ok(UpsertedRecording { recording: saved, created, previous_work_id })
}

/// Creates a work.
pub async fn create_work(db: &impl ConnectionTrait, new: &NewWork) -> Result<work::Model, StoreError> {
    let now = Utc::now();
    let row = work::ActiveModel {
        id: Set(WorkId::new().0),
        title: Set(new.title.clone()),
        iswc: Set(new.iswc.as_ref().map(|i| i.as_str().to_owned())),
        genres: Set(serde_json::json!(new.genres)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(work::Entity::insert(row).exec_with_returning(db).await?)
}

/// Creates a party.
pub async fn create_party(db: &impl ConnectionTrait, name: &str, kind: PartyKind) -> Result<party::Model, StoreError> {
    let mut errors = ValidationErrors::default();
    let name = omnisonic_domain::validation::required_text(&mut errors, "name", name, 500);
    errors.into_result(())?;
    let row = party::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        kind: Set(kind.as_str().to_owned()),
        ipi: Set(None),
        isni: Set(None),
        created_at: Set(Utc::now()),
    };
    Ok(party::Entity::insert(row).exec_with_returning(db).await?)
}

/// What a contribution is attached to.
#[derive(Debug, Clone, Copy)]
pub enum ContributionTarget {
    /// A work.
    Work(Uuid),
    /// A recording.
    Recording(Uuid),
}

impl ContributionTarget {
    /// The target's kind (as named in errors) and id.
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Self::Work(id) => ("work", id),
            Self::Recording(id) => ("recording", id),
        }
    }
}

/// Takes the write lock on one row inside `txn` with a no-op UPDATE (`touch = touch`); `false` when the row does
/// not exist. PostgreSQL locks the row, SQLite the database. A plain SELECT first would let two deferred
/// transactions read the same state (and on SQLite the second writer would then fail with a busy snapshot
/// instead of waiting).
pub(crate) async fn lock_row<E: EntityTrait>(
    txn: &impl ConnectionTrait,
    id: E::Column,
    touch: E::Column,
    id_value: Uuid,
) -> Result<bool, StoreError> {
    let updated = E::update_many().col_expr(touch, Expr::col(touch)).filter(id.eq(id_value)).exec(txn).await?;
    Ok(updated.rows_affected > 0)
}

/// Adds a contribution, refusing (and writing nothing) if the target's shares for that role would pass 100 %.
///
/// Runs in one transaction that takes the write lock on the target first, so two concurrent additions cannot both
/// pass the check on either backend.
pub async fn add_contribution(
    db: &DatabaseConnection,
    party_id: Uuid,
    target: ContributionTarget,
    role: Role,
    share: ShareBps,
) -> Result<contribution::Model, StoreError> {
    let txn = db.begin().await?;
    let (entity, target_id) = target.parts();
    let locked = match target {
        ContributionTarget::Work(id) => {
            lock_row::<work::Entity>(&txn, work::Column::Id, work::Column::UpdatedAt, id).await?
        }
        ContributionTarget::Recording(id) => {
            lock_row::<recording::Entity>(&txn, recording::Column::Id, recording::Column::UpdatedAt, id).await?
        }
    };
    if !locked {
        return Err(StoreError::NotFound { entity, id: target_id.to_string() });
    }
    let existing_query = contribution::Entity::find().filter(match target {
        ContributionTarget::Work(id) => contribution::Column::WorkId.eq(id),
        ContributionTarget::Recording(id) => contribution::Column::RecordingId.eq(id),
    });
    party::Entity::find_by_id(party_id)
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound { entity: "party", id: party_id.to_string() })?;
    let existing = existing_query.filter(contribution::Column::Role.eq(role.as_str())).all(&txn).await?;
    let shares = existing.iter().filter_map(|c| ShareBps::new(i64::from(c.share_bps)).ok());
    if let Err(err) = check_role_total(role.as_str(), shares, share) {
        let mut errors = ValidationErrors::default();
        errors.add("share_bps", err.to_string());
        return Err(StoreError::Invalid(errors));
    }
    let (work_id, recording_id) = match target {
        ContributionTarget::Work(id) => (Some(id), None),
        ContributionTarget::Recording(id) => (None, Some(id)),
    };
    let row = contribution::ActiveModel {
        id: Set(Uuid::now_v7()),
        party_id: Set(party_id),
        work_id: Set(work_id),
        recording_id: Set(recording_id),
        role: Set(role.as_str().to_owned()),
        share_bps: Set(i32::from(share.bps())),
        created_at: Set(Utc::now()),
    };
    let saved = contribution::Entity::insert(row).exec_with_returning(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Rows for a bulk catalogue load (the `seed` command): inserted in one transaction, in chunks.
#[derive(Debug, Default)]
pub struct CatalogueBatch {
    /// Parties to insert.
    pub parties: Vec<party::Model>,
    /// Works to insert.
    pub works: Vec<work::Model>,
    /// Recordings to insert; an ISRC that already exists fails the whole batch with a conflict (callers filter
    /// known ISRCs out first, so this only happens when a concurrent write wins the race).
    pub recordings: Vec<recording::Model>,
    /// Contributions to insert; they must reference rows of this batch or existing ones.
    pub contributions: Vec<contribution::Model>,
}

/// Inserts a whole batch atomically: all of it lands or none of it does.
pub async fn insert_batch(db: &DatabaseConnection, batch: CatalogueBatch) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    for chunk in batch.parties.chunks(INSERT_CHUNK) {
        party::Entity::insert_many(chunk.iter().cloned().map(party::ActiveModel::from)).exec(&txn).await?;
    }
    for chunk in batch.works.chunks(INSERT_CHUNK) {
        work::Entity::insert_many(chunk.iter().cloned().map(work::ActiveModel::from)).exec(&txn).await?;
    }
    for chunk in batch.recordings.chunks(INSERT_CHUNK) {
        recording::Entity::insert_many(chunk.iter().cloned().map(recording::ActiveModel::from)).exec(&txn).await?;
    }
    for chunk in batch.contributions.chunks(INSERT_CHUNK) {
        contribution::Entity::insert_many(chunk.iter().cloned().map(contribution::ActiveModel::from))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How many recordings the catalogue holds.
pub async fn count_recordings(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(recording::Entity::find().count(db).await?)
}

/// Which of these ISRCs are already in the catalogue.
pub async fn existing_isrcs(
    db: &impl ConnectionTrait,
    isrcs: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut found = std::collections::HashSet::new();
    for chunk in isrcs.chunks(INSERT_CHUNK) {
        let rows = recording::Entity::find()
            .select_only()
            .column(recording::Column::Isrc)
            .filter(recording::Column::Isrc.is_in(chunk.iter().cloned()))
            .into_tuple::<String>()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Parties of `kind` whose name is one of `names`, so that loading the same data twice reuses them.
pub async fn parties_by_names(
    db: &impl ConnectionTrait,
    kind: PartyKind,
    names: &[String],
) -> Result<Vec<party::Model>, StoreError> {
    let mut found = Vec::new();
    for chunk in names.chunks(INSERT_CHUNK) {
        found.extend(
            party::Entity::find()
                .filter(party::Column::Kind.eq(kind.as_str()))
                .filter(party::Column::Name.is_in(chunk.iter().cloned()))
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

/// Refreshes the planner's statistics after a bulk load (`ANALYZE` means the same on SQLite and PostgreSQL), so
/// the first queries after a seed do not run on plans made for empty tables.
pub async fn refresh_statistics(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

/// Replaces a work's title, ISWC and genres.
pub async fn update_work(db: &DatabaseConnection, id: Uuid, new: &NewWork) -> Result<work::Model, StoreError> {
    let existing = work::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "work", id: id.to_string() })?;
    let mut row: work::ActiveModel = existing.into();
    row.title = Set(new.title.clone());
    row.iswc = Set(new.iswc.as_ref().map(|i| i.as_str().to_owned()));
    row.genres = Set(serde_json::json!(new.genres));
    row.updated_at = Set(Utc::now());
    Ok(sea_orm::ActiveModelTrait::update(row, db).await?)
}

/// Links a recording to the work it records (or unlinks it with `None`).
pub async fn set_recording_work(
    db: &DatabaseConnection,
    recording_id: Uuid,
    work_id: Option<Uuid>,
) -> Result<recording::Model, StoreError> {
    if let Some(work_id) = work_id
        && work::Entity::find_by_id(work_id).one(db).await?.is_none()
    {
        return Err(StoreError::NotFound { entity: "work", id: work_id.to_string() });
    }
    let existing = recording::Entity::find_by_id(recording_id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "recording", id: recording_id.to_string() })?;
    let mut row: recording::ActiveModel = existing.into();
    row.work_id = Set(work_id);
    row.updated_at = Set(Utc::now());
    Ok(sea_orm::ActiveModelTrait::update(row, db).await?)
}

/// Changes a contribution's role and share, refusing (and writing nothing) if its target's shares for the role
/// would pass 100 %. Takes the target's write lock first, like [`add_contribution`]. The target is touched
/// (`updated_at`), so its subscribers hear about it.
pub async fn update_contribution(
    db: &DatabaseConnection,
    id: Uuid,
    role: Role,
    share: ShareBps,
) -> Result<contribution::Model, StoreError> {
    let txn = db.begin().await?;
    // Lock before reading (see `lock_row`); the target's lock follows.
    lock_row::<contribution::Entity>(&txn, contribution::Column::Id, contribution::Column::CreatedAt, id).await?;
    let current = contribution::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound { entity: "contribution", id: id.to_string() })?;
    let target = match (current.work_id, current.recording_id) {
        (Some(work), _) => {
            lock_row::<work::Entity>(&txn, work::Column::Id, work::Column::UpdatedAt, work).await?;
            contribution::Column::WorkId.eq(work)
        }
        (None, Some(rec)) => {
            lock_row::<recording::Entity>(&txn, recording::Column::Id, recording::Column::UpdatedAt, rec).await?;
            contribution::Column::RecordingId.eq(rec)
        }
        (None, None) => return Err(StoreError::NotFound { entity: "contribution target", id: id.to_string() }),
    };
    let others = contribution::Entity::find()
        .filter(target)
        .filter(contribution::Column::Role.eq(role.as_str()))
        .filter(contribution::Column::Id.ne(id))
        .all(&txn)
        .await?;
    let shares = others.iter().filter_map(|c| ShareBps::new(i64::from(c.share_bps)).ok());
    if let Err(err) = check_role_total(role.as_str(), shares, share) {
        let mut errors = ValidationErrors::default();
        errors.add("shareBps", err.to_string());
        return Err(StoreError::Invalid(errors));
    }
    let mut row: contribution::ActiveModel = current.into();
    row.role = Set(role.as_str().to_owned());
    row.share_bps = Set(i32::from(share.bps()));
    let saved = sea_orm::ActiveModelTrait::update(row, &txn).await?;
    let now = Utc::now();
    if let Some(work) = saved.work_id {
        work::Entity::update_many()
            .col_expr(work::Column::UpdatedAt, Expr::value(now))
            .filter(work::Column::Id.eq(work))
            .exec(&txn)
            .await?;
    }
    if let Some(rec) = saved.recording_id {
        recording::Entity::update_many()
            .col_expr(recording::Column::UpdatedAt, Expr::value(now))
            .filter(recording::Column::Id.eq(rec))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(saved)
}
