//! Insight's read side: news items and the catalogue entities they mention (`newsItems`, `newsItem`,
//! `mentions` on `Party`, `Work` and `Recording`), and the `newsItemTagged` subscription.

use crate::MAX_PAGE_SIZE;
use crate::error::{bad_input, from_store};
use crate::query::{db, parse_id};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use omnisonic_store::entities::{entity_tag, feed_source, news_item};
use omnisonic_store::news::{self, NewsFilter};
use serde::Deserialize;
use uuid::Uuid;

/// What kind of catalogue entity a tag names.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EntityType {
    /// An artist, writer, publisher or label.
    Party,
    /// A musical work.
    Work,
    /// A recording.
    Recording,
}

impl EntityType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Party => "party",
            Self::Work => "work",
            Self::Recording => "recording",
        }
    }

    fn from_stored(text: &str) -> Option<Self> {
        match text {
            "party" => Some(Self::Party),
            "work" => Some(Self::Work),
            "recording" => Some(Self::Recording),
            _ => None,
        }
    }
}

/// A news item from a feed or pushed by an integration.
pub struct NewsItem(pub news_item::Model);

#[Object]
impl NewsItem {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Headline, plain text.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Summary, plain text.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Summary or content as sanitised HTML (no scripts, styles or event handlers).
    async fn content_html(&self) -> &str {
        &self.0.content_html
    }
    /// Link to the article.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// The link without tracking parameters (what duplicates are recognised by).
    async fn canonical_url(&self) -> Option<&str> {
        self.0.canonical_url.as_deref()
    }
    async fn author(&self) -> Option<&str> {
        self.0.author.as_deref()
    }
    /// When it was published, if the feed says.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    /// When it was stored.
    async fn fetched_at(&self) -> DateTime<Utc> {
        self.0.fetched_at
    }
    /// Language (BCP 47), if known.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }
    /// The feed it came from; `null` for pushed items.
    async fn source(&self, ctx: &Context<'_>) -> Result<Option<FeedSource>> {
        let Some(id) = self.0.source_id else { return Ok(None) };
        match omnisonic_store::feeds::get_source(db(ctx), id).await {
            Ok(source) => Ok(Some(FeedSource(source))),
            Err(omnisonic_store::StoreError::NotFound { .. }) => Ok(None),
            Err(err) => Err(from_store(err)),
        }
    }
    /// The catalogue entities it mentions, in the order of the text. `textOffset`s refer to the title, a blank
    /// line, then the summary.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<EntityTag>> {
        let rows = news::tags_of(db(ctx), &[self.0.id]).await.map_err(from_store)?;
        Ok(rows.into_iter().map(EntityTag).collect())
    }
}

/// A catalogue entity mentioned in a news item.
pub struct EntityTag(pub entity_tag::Model);

#[Object]
impl EntityTag {
    async fn entity_type(&self) -> Option<EntityType> {
        EntityType::from_stored(&self.0.entity_type)
    }
    async fn entity_id(&self) -> ID {
        ID(self.0.entity_id.to_string())
    }
    /// 0–100: the name's similarity weighed by context (see the tagger's documentation).
    async fn confidence(&self) -> i32 {
        i32::from(self.0.confidence)
    }
    /// `heuristic` (an exact name or alias) or `fuzzy` (a near miss).
    async fn method(&self) -> &str {
        &self.0.method
    }
    /// The words as written in the item.
    async fn matched_text(&self) -> &str {
        &self.0.matched_text
    }
    /// Byte offset of the match in the tagged text.
    async fn start_offset(&self) -> i32 {
        self.0.start_offset
    }
    /// Byte offset just past the match.
    async fn end_offset(&self) -> i32 {
        self.0.end_offset
    }
    /// The tagger version that made the tag.
    async fn tagger_version(&self) -> &str {
        &self.0.tagger_version
    }
}

/// A feed source.
pub struct FeedSource(pub feed_source::Model);

#[Object]
impl FeedSource {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
}

fn cursor_of(row: &news_item::Model) -> String {
    format!("{}_{}", row.sort_at.timestamp_millis(), row.id)
}

fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let invalid = || bad_input("after", "is not a cursor returned by this API");
    let (ms, id) = text.split_once('_').ok_or_else(invalid)?;
    let at = ms.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis).ok_or_else(invalid)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// Insight queries.
#[derive(Default)]
pub struct NewsQuery;

#[Object]
impl NewsQuery {
    /// News items, newest first, filtered by a mentioned entity, its type, a source, a time range and a minimum
    /// tag confidence.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn news_items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only items mentioning this entity.")] entity_id: Option<ID>,
        #[graphql(desc = "Only items mentioning an entity of this type.")] entity_type: Option<EntityType>,
        #[graphql(desc = "Only items from this feed source.")] source_id: Option<ID>,
        #[graphql(desc = "Only items from this time on.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Only items before this time.")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "With entity filters: only tags of at least this confidence (0–100).")] min_confidence: Option<
            i32,
        >,
    ) -> Result<Connection<String, NewsItem, EmptyFields, EmptyFields>> {
        let limit = crate::query::page_size(first, 20)?;
        let cursor = after.as_deref().map(parse_cursor).transpose()?;
        let min_confidence = match min_confidence {
            Some(m) if !(0..=100).contains(&m) => return Err(bad_input("minConfidence", "must be between 0 and 100")),
            other => other.map(|m| m as i16),
        };
        let filter = NewsFilter {
            entity_id: entity_id.as_ref().map(|id| parse_id("entityId", id)).transpose()?,
            entity_type: entity_type.map(|t| t.as_str().to_owned()),
            source_id: source_id.as_ref().map(|id| parse_id("sourceId", id)).transpose()?,
            from,
            to,
            min_confidence,
        };
        let mut rows = news::list_items(db(ctx), &filter, cursor, limit + 1).await.map_err(from_store)?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(cursor.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(cursor_of(&row), NewsItem(row))));
        Ok(connection)
    }

    /// A news item by id.
    async fn news_item(&self, ctx: &Context<'_>, id: ID) -> Result<Option<NewsItem>> {
        let id = parse_id("id", &id)?;
        match news::get_item(db(ctx), id).await {
            Ok(row) => Ok(Some(NewsItem(row))),
            Err(omnisonic_store::StoreError::NotFound { .. }) => Ok(None),
            Err(err) => Err(from_store(err)),
        }
    }
}

/// The latest items mentioning `entity`, at most `first` (1–100, default 10), for `mentions` fields.
pub(crate) async fn mentions(ctx: &Context<'_>, entity: Uuid, first: Option<i32>) -> Result<Vec<NewsItem>> {
    let first = first.unwrap_or(10);
    if !(1..=MAX_PAGE_SIZE).contains(&first) {
        return Err(bad_input("first", format!("must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let filter = NewsFilter { entity_id: Some(entity), ..Default::default() };
    let rows = news::list_items(db(ctx), &filter, None, first as u64).await.map_err(from_store)?;
    Ok(rows.into_iter().map(NewsItem).collect())
}

/// A news item just tagged (new, or re-tagged), as `newsItemTagged` emits it.
#[derive(SimpleObject, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct NewsItemTagged {
    /// The item.
    pub item_id: ID,
    /// Its feed, `null` for pushed items.
    pub source_id: Option<ID>,
    /// Its headline.
    pub title: String,
    /// Its link.
    pub url: Option<String>,
    /// What it mentions.
    pub tags: Vec<TaggedMention>,
}

/// One mention in a [`NewsItemTagged`] event.
#[derive(SimpleObject, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct TaggedMention {
    /// `party`, `work` or `recording`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: ID,
    /// Its name in the catalogue.
    pub name: String,
    /// 0–100.
    pub confidence: i32,
    /// `heuristic` or `fuzzy`.
    pub method: String,
    /// The words as written.
    pub matched_text: String,
}
