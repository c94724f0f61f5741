//! Mixdown exports: rows move `pending` → `processing` → `completed` | `failed`; progress only moves forward
//! while processing, and a finished export never changes again — so a retried or duplicated job cannot undo a
//! result the user has seen.

use crate::StoreError;
use crate::entities::export;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, UpdateMany,
};
use uuid::Uuid;

/// Exports a session page lists.
pub const HISTORY_LIMIT: u64 = 50;

/// Export states.
pub mod status {
    /// Waiting for a worker.
    pub const PENDING: &str = "pending";
    /// A worker is mixing it.
    pub const PROCESSING: &str = "processing";
    /// The file is ready.
    pub const COMPLETED: &str = "completed";
    /// It failed; `error_message` says why.
    pub const FAILED: &str = "failed";
}

/// Records a new pending export.
pub async fn create_export(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    user_id: Uuid,
    format: &str,
    bit_depth: Option<i32>,
    bitrate_kbps: Option<i32>,
) -> Result<export::Model, StoreError> {
    let now = Utc::now();
    let row = export::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        user_id: Set(user_id),
        status: Set(status::PENDING.to_owned()),
        format: Set(format.to_owned()),
        bit_depth: Set(bit_depth),
        bitrate_kbps: Set(bitrate_kbps),
        progress: Set(0),
        storage_key: Set(None),
        file_size: Set(None),
        error_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
    };
    Ok(export::Entity::insert(row).exec_with_returning(db).await?)
}

/// The export with this id, or [`StoreError::NotFound`].
pub async fn get_export(db: &impl ConnectionTrait, id: Uuid) -> Result<export::Model, StoreError> {
    export::Entity::find_by_id(id).one(db).await?.ok_or(StoreError::NotFound { entity: "export", id: id.to_string() })
}

/// The export whose file is stored under `key`.
pub async fn export_by_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<export::Model>, StoreError> {
    Ok(export::Entity::find().filter(export::Column::StorageKey.eq(key)).one(db).await?)
}

/// A session's exports, newest first.
pub async fn list_exports(db: &impl ConnectionTrait, session_id: Uuid) -> Result<Vec<export::Model>, StoreError> {
    Ok(export::Entity::find()
        .filter(export::Column::SessionId.eq(session_id))
        .order_by_desc(export::Column::CreatedAt)
        .order_by_desc(export::Column::Id)
        .limit(HISTORY_LIMIT)
        .all(db)
        .await?)
}

/// An update of the export `id` that applies only while it is unfinished (pending or processing) and stamps
/// `updated_at`: the one way a state change is written, so a finished export never changes again.
fn update_unfinished(id: Uuid) -> UpdateMany<export::Entity> {
    export::Entity::update_many()
        .col_expr(export::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(export::Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(export::Column::Status.eq(status::PENDING))
                .add(export::Column::Status.eq(status::PROCESSING)),
        )
}

/// Runs `update`; `true` when it changed the export (it was still unfinished).
async fn changed(db: &impl ConnectionTrait, update: UpdateMany<export::Entity>) -> Result<bool, StoreError> {
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Marks an unfinished export as processing with progress 0 (a retry starts over). `false` when it is already
/// finished (or gone): the job has nothing to do.
pub async fn start_processing(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let update = update_unfinished(id)
        .col_expr(export::Column::Status, Expr::value(status::PROCESSING))
        .col_expr(export::Column::Progress, Expr::value(0));
    changed(db, update).await
}

/// Records progress (0–100) of a processing export.
pub async fn set_progress(db: &impl ConnectionTrait, id: Uuid, progress: i32) -> Result<(), StoreError> {
    export::Entity::update_many()
        .col_expr(export::Column::Progress, Expr::value(progress.clamp(0, 100)))
        .col_expr(export::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(export::Column::Id.eq(id))
        .filter(export::Column::Status.eq(status::PROCESSING))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks an unfinished export completed with its file. `false` when it had already finished.
pub async fn complete_export(
    db: &impl ConnectionTrait,
    id: Uuid,
    storage_key: &str,
    file_size: i64,
) -> Result<bool, StoreError> {
    let update = update_unfinished(id)
        .col_expr(export::Column::Status, Expr::value(status::COMPLETED))
        .col_expr(export::Column::Progress, Expr::value(100))
        .col_expr(export::Column::StorageKey, Expr::value(storage_key))
        .col_expr(export::Column::FileSize, Expr::value(file_size))
        .col_expr(export::Column::CompletedAt, Expr::value(Utc::now()));
    changed(db, update).await
}

/// Marks an unfinished export failed with a message for the user. `false` when it had already finished.
pub async fn fail_export(db: &impl ConnectionTrait, id: Uuid, message: &str) -> Result<bool, StoreError> {
    let update = update_unfinished(id)
        .col_expr(export::Column::Status, Expr::value(status::FAILED))
        .col_expr(export::Column::ErrorMessage, Expr::value(message));
    changed(db, update).await
}
