//! Uploaded files' metadata. The objects themselves live in object storage (the platform crate).

use crate::StoreError;
use crate::entities::{track, upload};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// The status of a stored upload.
pub const COMPLETE: &str = "complete";

/// The status of a browser-direct upload whose parts are still arriving.
pub const PENDING: &str = "pending";

/// A stored upload to record.
#[derive(Clone, Debug)]
pub struct NewUpload {
    /// Its id (chosen before storing, since it is part of the key).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Safe original name.
    pub file_name: String,
    /// Bytes.
    pub file_size: i64,
    /// Media type.
    pub mime_type: String,
    /// Object key.
    pub storage_key: String,
    /// Hex SHA-256.
    pub sha256: String,
}

fn insert_row(new: NewUpload, status: &str, multipart_id: Option<&str>) -> upload::ActiveModel {
    let now = Utc::now();
    upload::ActiveModel {
        id: Set(new.id),
        user_id: Set(new.user_id),
        session_id: Set(None),
        file_name: Set(new.file_name),
        file_size: Set(new.file_size),
        mime_type: Set(new.mime_type),
        storage_key: Set(new.storage_key),
        sha256: Set(new.sha256),
        status: Set(status.to_owned()),
        multipart_id: Set(multipart_id.map(str::to_owned)),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Records an upload whose object is stored.
pub async fn create_upload(db: &impl ConnectionTrait, new: NewUpload) -> Result<upload::Model, StoreError> {
    Ok(upload::Entity::insert(insert_row(new, COMPLETE, None)).exec_with_returning(db).await?)
}

/// Records a browser-direct upload that has begun (`pending`, with its multipart id).
pub async fn create_pending_upload(
    db: &impl ConnectionTrait,
    new: NewUpload,
    multipart_id: &str,
) -> Result<upload::Model, StoreError> {
    Ok(upload::Entity::insert(insert_row(new, PENDING, Some(multipart_id))).exec_with_returning(db).await?)
}

/// The status of a direct upload whose parts are being assembled.
pub const COMPLETING: &str = "completing";

/// Claims a pending direct upload for completion; `false` when it is not pending (completed, being completed
/// by another request, or deleted).
pub async fn claim_for_completion(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    let claimed = upload::Entity::update_many()
        .col_expr(upload::Column::Status, sea_orm::sea_query::Expr::value(COMPLETING))
        .filter(upload::Column::Id.eq(id))
        .filter(upload::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Gives a claimed upload back (`pending` again) after a completion that could not finish.
pub async fn release_claim(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StoreError> {
    upload::Entity::update_many()
        .col_expr(upload::Column::Status, sea_orm::sea_query::Expr::value(PENDING))
        .filter(upload::Column::Id.eq(id))
        .filter(upload::Column::Status.eq(COMPLETING))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a direct upload complete with what the stored object turned out to be.
pub async fn complete_upload(
    db: &impl ConnectionTrait,
    id: Uuid,
    file_size: i64,
    mime_type: &str,
    sha256: &str,
) -> Result<upload::Model, StoreError> {
    use sea_orm::ActiveModelTrait;
    let mut row: upload::ActiveModel = get_upload(db, id).await?.into();
    row.file_size = Set(file_size);
    row.mime_type = Set(mime_type.to_owned());
    row.sha256 = Set(sha256.to_owned());
    row.status = Set(COMPLETE.to_owned());
    row.multipart_id = Set(None);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Direct uploads begun before `before` and never completed (the cleanup job aborts them).
pub async fn abandoned_uploads(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<upload::Model>, StoreError> {
    Ok(upload::Entity::find()
        .filter(upload::Column::Status.is_in([PENDING, COMPLETING]))
        .filter(upload::Column::CreatedAt.lt(before))
        .all(db)
        .await?)
}

/// The upload with this id, or [`StoreError::NotFound`].
pub async fn get_upload(db: &impl ConnectionTrait, id: Uuid) -> Result<upload::Model, StoreError> {
    upload::Entity::find_by_id(id).one(db).await?.ok_or(StoreError::NotFound { entity: "upload", id: id.to_string() })
}

/// The upload stored under `key`.
pub async fn upload_by_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<upload::Model>, StoreError> {
    Ok(upload::Entity::find().filter(upload::Column::StorageKey.eq(key)).one(db).await?)
}

/// A user's complete uploads, newest first (at most 500).
pub async fn list_uploads(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<upload::Model>, StoreError> {
    Ok(upload::Entity::find()
        .filter(upload::Column::UserId.eq(user_id))
        .filter(upload::Column::Status.eq(COMPLETE))
        .order_by_desc(upload::Column::CreatedAt)
        .order_by_desc(upload::Column::Id)
        .limit(500)
        .all(db)
        .await?)
}

/// Deletes an upload's row; tracks that played it keep their settings and lose the file (one transaction).
pub async fn delete_upload(db: &DatabaseConnection, id: Uuid) -> Result<(), StoreError> {
    let txn = db.begin().await?;
    track::Entity::update_many()
        .col_expr(track::Column::UploadId, sea_orm::sea_query::Expr::value(Option::<Uuid>::None))
        .filter(track::Column::UploadId.eq(id))
        .exec(&txn)
        .await?;
    upload::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Uploads no studio session and no track uses that were created before `before` (the cleanup job's
/// candidates). A track counts even when its session link was overwritten by a later attachment.
pub async fn orphaned_uploads(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<Vec<upload::Model>, StoreError> {
    Ok(upload::Entity::find()
        .filter(upload::Column::SessionId.is_null())
        .filter(upload::Column::Status.eq(COMPLETE))
        .filter(upload::Column::CreatedAt.lt(before))
        .filter(
            upload::Column::Id.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(track::Column::UploadId)
                    .from(track::Entity)
                    .and_where(track::Column::UploadId.is_not_null())
                    .to_owned(),
            ),
        )
        .order_by_asc(upload::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Marks an upload as used by a studio session (so the cleanup job keeps it).
pub async fn attach_to_session(db: &impl ConnectionTrait, id: Uuid, session_id: Uuid) -> Result<(), StoreError> {
    upload::Entity::update_many()
        .col_expr(upload::Column::SessionId, sea_orm::sea_query::Expr::value(Some(session_id)))
        .col_expr(upload::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(upload::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
