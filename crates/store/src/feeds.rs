//! Feed sources: what Insight polls, and each source's polling state (validators, backoff, last error).

use crate::StoreError;
use crate::entities::feed_source;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// A source to add.
#[derive(Debug, Clone)]
pub struct NewSource {
    /// The feed URL (already checked by the caller).
    pub url: String,
    /// A title, until the feed tells its own.
    pub title: Option<String>,
    /// Seconds between polls.
    pub poll_interval_seconds: i32,
    /// Who added it.
    pub created_by: Option<Uuid>,
}

/// Adds a source, due at once; [`StoreError::Conflict`] on `url` when it exists.
pub async fn create_source(
    db: &impl ConnectionTrait,
    new: NewSource,
    now: DateTime<Utc>,
) -> Result<feed_source::Model, StoreError> {
    let row = feed_source::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(new.url),
        title: Set(new.title),
        enabled: Set(true),
        poll_interval_seconds: Set(new.poll_interval_seconds),
        etag: Set(None),
        last_modified: Set(None),
        last_polled_at: Set(None),
        next_poll_at: Set(now),
        consecutive_errors: Set(0),
        last_error: Set(None),
        last_status: Set(None),
        items_count: Set(0),
        created_by: Set(new.created_by),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(feed_source::Entity::insert(row).exec_with_returning(db).await?)
}

/// The source with this id, or [`StoreError::NotFound`].
pub async fn get_source(db: &impl ConnectionTrait, id: Uuid) -> Result<feed_source::Model, StoreError> {
    feed_source::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "feed source", id: id.to_string() })
}

/// Every source, by URL.
pub async fn list_sources(db: &impl ConnectionTrait) -> Result<Vec<feed_source::Model>, StoreError> {
    Ok(feed_source::Entity::find().order_by_asc(feed_source::Column::Url).all(db).await?)
}

/// Removes a source (its items stay, without a source); `false` when there was none.
pub async fn delete_source(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(feed_source::Entity::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

/// Changes a source's settings; `None` leaves a field as it is. Enabling makes it due at once.
pub async fn update_source(
    db: &impl ConnectionTrait,
    id: Uuid,
    title: Option<String>,
    enabled: Option<bool>,
    poll_interval_seconds: Option<i32>,
    now: DateTime<Utc>,
) -> Result<feed_source::Model, StoreError> {
    let current = get_source(db, id).await?;
    let mut row: feed_source::ActiveModel = current.clone().into();
    if let Some(title) = title {
        row.title = Set(Some(title));
    }
    if let Some(enabled) = enabled {
        row.enabled = Set(enabled);
        if enabled && !current.enabled {
            row.next_poll_at = Set(now);
            row.consecutive_errors = Set(0);
        }
    }
    if let Some(interval) = poll_interval_seconds {
        row.poll_interval_seconds = Set(interval);
    }
    row.updated_at = Set(now);
    Ok(feed_source::Entity::update(row).exec(db).await?)
}

/// Enabled sources due at `now`, most overdue first.
pub async fn due_sources(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<feed_source::Model>, StoreError> {
    Ok(feed_source::Entity::find()
        .filter(feed_source::Column::Enabled.eq(true))
        .filter(feed_source::Column::NextPollAt.lte(now))
        .order_by_asc(feed_source::Column::NextPollAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Claims a due source for one poller: moves its `next_poll_at` from `seen` to `lease_until` only if nobody
/// else has. `true` for exactly one caller.
pub async fn claim_source(
    db: &impl ConnectionTrait,
    id: Uuid,
    seen: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = feed_source::Entity::update_many()
        .col_expr(feed_source::Column::NextPollAt, Expr::value(lease_until))
        .filter(feed_source::Column::Id.eq(id))
        .filter(feed_source::Column::NextPollAt.eq(seen))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What a poll found out.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    /// The HTTP status, if a response came.
    pub status: Option<i32>,
    /// `Ok(new items)` or `Err(message)`.
    pub result: Result<i64, String>,
    /// New validators (a success with a body) — `None` keeps the old ones.
    pub validators: Option<(Option<String>, Option<String>)>,
    /// The feed's own title, if it has one.
    pub title: Option<String>,
    /// When it is next due.
    pub next_poll_at: DateTime<Utc>,
}

/// Records a poll: success resets the error count, failure increments it.
pub async fn record_poll(
    db: &impl ConnectionTrait,
    id: Uuid,
    outcome: PollOutcome,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut update = feed_source::Entity::update_many()
        .col_expr(feed_source::Column::LastPolledAt, Expr::value(now))
        .col_expr(feed_source::Column::NextPollAt, Expr::value(outcome.next_poll_at))
        .col_expr(feed_source::Column::LastStatus, Expr::value(outcome.status))
        .col_expr(feed_source::Column::UpdatedAt, Expr::value(now));
    match outcome.result {
        Ok(new_items) => {
            update = update
                .col_expr(feed_source::Column::ConsecutiveErrors, Expr::value(0))
                .col_expr(feed_source::Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(feed_source::Column::ItemsCount, Expr::col(feed_source::Column::ItemsCount).add(new_items));
        }
        Err(message) => {
            update = update
                .col_expr(
                    feed_source::Column::ConsecutiveErrors,
                    Expr::col(feed_source::Column::ConsecutiveErrors).add(1),
                )
                .col_expr(feed_source::Column::LastError, Expr::value(Some(message)));
        }
    }
    if let Some((etag, last_modified)) = outcome.validators {
        update = update
            .col_expr(feed_source::Column::Etag, Expr::value(etag))
            .col_expr(feed_source::Column::LastModified, Expr::value(last_modified));
    }
    if let Some(title) = outcome.title {
        // The feed's own title only fills a missing one: an editor's title wins.
        update = update.col_expr(
            feed_source::Column::Title,
            Expr::from(Func::coalesce([Expr::col(feed_source::Column::Title), Expr::val(title)])),
        );
    }
    update.filter(feed_source::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}
