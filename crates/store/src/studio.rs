//! Studio sessions and their tracks.

use crate::StoreError;
use crate::entities::{studio_session, track};
use chrono::Utc;
use omnisonic_domain::studio::{StudioSessionFields, TrackInput};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// Most sessions a list shows at once.
pub const LIST_LIMIT: u64 = 200;

/// A user's sessions, the most recently changed first.
pub async fn list_sessions(db: &impl ConnectionTrait, owner: Uuid) -> Result<Vec<studio_session::Model>, StoreError> {
    Ok(studio_session::Entity::find()
        .filter(studio_session::Column::UserId.eq(owner))
        .order_by_desc(studio_session::Column::UpdatedAt)
        .order_by_desc(studio_session::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?)
}

/// Creates a session owned by `owner`.
pub async fn create_session(
    db: &impl ConnectionTrait,
    owner: Uuid,
    fields: &StudioSessionFields,
) -> Result<studio_session::Model, StoreError> {
    let now = Utc::now();
    let row = studio_session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(owner),
        title: Set(fields.title.clone()),
        description: Set(fields.description.clone()),
        bpm: Set(fields.bpm),
        sample_rate: Set(fields.sample_rate),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(studio_session::Entity::insert(row).exec_with_returning(db).await?)
}

/// The session with this id, or [`StoreError::NotFound`].
pub async fn get_session(db: &impl ConnectionTrait, id: Uuid) -> Result<studio_session::Model, StoreError> {
    studio_session::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "studio session", id: id.to_string() })
}

/// Replaces a session's editable fields.
pub async fn update_session(
    db: &impl ConnectionTrait,
    id: Uuid,
    fields: &StudioSessionFields,
) -> Result<studio_session::Model, StoreError> {
    let mut row: studio_session::ActiveModel = get_session(db, id).await?.into();
    row.title = Set(fields.title.clone());
    row.description = Set(fields.description.clone());
    row.bpm = Set(fields.bpm);
    row.sample_rate = Set(fields.sample_rate);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// A session's tracks in mix order.
pub async fn list_tracks(db: &impl ConnectionTrait, session_id: Uuid) -> Result<Vec<track::Model>, StoreError> {
    Ok(track::Entity::find()
        .filter(track::Column::SessionId.eq(session_id))
        .order_by_asc(track::Column::Position)
        .order_by_asc(track::Column::Id)
        .all(db)
        .await?)
}

/// The audio a track plays: an upload, and which of its audio streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackSource {
    /// The upload.
    pub upload_id: Uuid,
    /// The audio stream, from 0 (`None`: the first).
    pub stream_index: Option<i32>,
    /// The stream's length in milliseconds, when known.
    pub duration_ms: Option<i64>,
}

/// Appends a track to a session (and marks the session as changed).
///
/// One transaction that first updates the session row: that takes the write lock, so two concurrent additions get
/// consecutive positions (a unique index backs this up) instead of the same one.
/// With a `source`, the track plays that upload, which is then marked as used by the session (in the same
/// transaction), so the cleanup job keeps it.
pub async fn add_track(
    db: &DatabaseConnection,
    session_id: Uuid,
    input: &TrackInput,
    source: Option<TrackSource>,
) -> Result<track::Model, StoreError> {
    let txn = db.begin().await?;
    let touched = studio_session::Entity::update_many()
        .col_expr(studio_session::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(studio_session::Column::Id.eq(session_id))
        .exec(&txn)
        .await?
        .rows_affected;
    if touched == 0 {
        return Err(StoreError::NotFound { entity: "studio session", id: session_id.to_string() });
    }
    let position = track::Entity::find().filter(track::Column::SessionId.eq(session_id)).count(&txn).await?;
    let now = Utc::now();
    let row = track::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        name: Set(input.name.clone()),
        upload_id: Set(source.map(|s| s.upload_id)),
        stream_index: Set(source.and_then(|s| s.stream_index)),
        duration_ms: Set(source.and_then(|s| s.duration_ms)),
        gain_db: Set(input.gain_db),
        pan: Set(input.pan),
        mute: Set(input.mute),
        solo: Set(input.solo),
        start_offset_samples: Set(input.start_offset_samples),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let saved = track::Entity::insert(row).exec_with_returning(&txn).await?;
    if let Some(source) = source {
        crate::uploads::attach_to_session(&txn, source.upload_id, session_id).await?;
    }
    txn.commit().await?;
    Ok(saved)
}

/// The track with this id, or [`StoreError::NotFound`].
pub async fn get_track(db: &impl ConnectionTrait, id: Uuid) -> Result<track::Model, StoreError> {
    track::Entity::find_by_id(id).one(db).await?.ok_or(StoreError::NotFound { entity: "track", id: id.to_string() })
}

/// Replaces a track's mix settings and name (and marks its session as changed).
pub async fn update_track(db: &DatabaseConnection, id: Uuid, input: &TrackInput) -> Result<track::Model, StoreError> {
    let txn = db.begin().await?;
    let mut row: track::ActiveModel = get_track(&txn, id).await?.into();
    row.name = Set(input.name.clone());
    row.gain_db = Set(input.gain_db);
    row.pan = Set(input.pan);
    row.mute = Set(input.mute);
    row.solo = Set(input.solo);
    row.start_offset_samples = Set(input.start_offset_samples);
    row.updated_at = Set(Utc::now());
    let saved = row.update(&txn).await?;
    studio_session::Entity::update_many()
        .col_expr(studio_session::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(studio_session::Column::Id.eq(saved.session_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a session and, by cascade, its tracks.
pub async fn delete_session(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    let deleted = studio_session::Entity::delete_by_id(id).exec(db).await?.rows_affected;
    if deleted == 0 {
        return Err(StoreError::NotFound { entity: "studio session", id: id.to_string() });
    }
    Ok(())
}

/// How many sessions exist.
pub async fn count_sessions(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(studio_session::Entity::find().count(db).await?)
}
