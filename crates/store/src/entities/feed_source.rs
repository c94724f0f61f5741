//! `feed_sources`: the RSS/Atom/JSON feeds Insight polls.

use sea_orm::entity::prelude::*;

/// A feed source row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feed_sources")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The feed's URL (unique).
    pub url: String,
    /// The feed's title, from the feed once polled or as given.
    pub title: Option<String>,
    /// Whether the poller fetches it.
    pub enabled: bool,
    /// The normal time between polls.
    pub poll_interval_seconds: i32,
    /// The last `ETag` the server sent, for `If-None-Match`.
    pub etag: Option<String>,
    /// The last `Last-Modified` the server sent, for `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// When it was last fetched (successfully or not).
    pub last_polled_at: Option<DateTimeUtc>,
    /// When it is next due.
    pub next_poll_at: DateTimeUtc,
    /// Failed polls in a row (0 after a success); drives the backoff.
    pub consecutive_errors: i32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The last HTTP status received.
    pub last_status: Option<i32>,
    /// News items stored from this feed.
    pub items_count: i64,
    /// The account that added it.
    pub created_by: Option<Uuid>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a feed source.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
