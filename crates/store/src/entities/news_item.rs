//! `news_items`: articles from feeds or pushed by integrations.

use sea_orm::entity::prelude::*;

/// A news item row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "news_items")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The feed it came from; `None` for pushed items (or after the source was removed).
    pub source_id: Option<Uuid>,
    /// The feed's id for the entry (GUID / Atom id), unique within the source.
    pub guid: Option<String>,
    /// The article's link as given.
    pub url: Option<String>,
    /// The link without tracking parameters and fragment, lower-case host (unique).
    pub canonical_url: Option<String>,
    /// Title, plain text.
    pub title: String,
    /// Summary, plain text.
    pub summary: String,
    /// Summary or content as sanitised HTML, for display.
    pub content_html: String,
    /// Author, if given.
    pub author: Option<String>,
    /// When it was published, if the feed says.
    pub published_at: Option<DateTimeUtc>,
    /// When we stored it.
    pub fetched_at: DateTimeUtc,
    /// The order of lists: published time, but never later than fetched (feeds date items in the future).
    pub sort_at: DateTimeUtc,
    /// Language (BCP 47) if known.
    pub language: Option<String>,
    /// SHA-256 (hex) of the normalised title and summary.
    pub content_hash: String,
    /// Near-duplicate key (unique): normalised title and summary, or title and link for items with no summary.
    pub dedup_key: String,
    /// When it was last tagged.
    pub tagged_at: Option<DateTimeUtc>,
    /// The tagger version that tagged it.
    pub tagger_version: Option<String>,
}

/// Relations of a news item.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
