//! Storing news items, from a feed or pushed by an integration: validation, normalisation, deduplication,
//! tagging and the `news:tagged` event — the same path for both.

use omnisonic_domain::channels;
use omnisonic_store::news::{self, Duplicate, NewItem, NewTag};
use serde::Serialize;
use uuid::Uuid;

use super::tagger::TaggedText;
use crate::{AppError, Context};
use omnisonic_news::content;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Longest summary or content, in bytes of HTML.
pub const MAX_SUMMARY_BYTES: usize = 200_000;
/// Longest link or GUID, in bytes.
pub const MAX_LINK_BYTES: usize = 2_048;
/// Longest author, in characters.
pub const MAX_AUTHOR_CHARS: usize = 500;

pub use omnisonic_news::IncomingItem;

/// What happened to a batch.
#[derive(Debug, Default, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Ids of the items stored.
    pub stored: Vec<Uuid>,
    /// Items that were already here (same GUID in the feed, same canonical link, or same title and summary).
    pub duplicates: usize,
    /// Items refused, by their position in the batch (0-based), with the reason.
    pub rejected: Vec<RejectedItem>,
    /// Tags made on the stored items.
    pub tags: usize,
}

/// An item that was refused.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RejectedItem {
    /// Position in the batch (0-based).
    pub index: usize,
    /// Why.
    pub reason: String,
}

/// Checks and normalises an item; `Err` says what is wrong.
pub fn prepare(item: &IncomingItem, source_id: Option<Uuid>) -> Result<NewItem, String> {
    let title = content::html_to_text(&item.title);
    if title.is_empty() {
        return Err("title is empty".to_owned());
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("title is longer than {MAX_TITLE_CHARS} characters"));
    }
    if item.summary.len() > MAX_SUMMARY_BYTES {
        return Err(format!("summary is larger than {MAX_SUMMARY_BYTES} bytes"));
    }
    let url = match item.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) if url.len() > MAX_LINK_BYTES => return Err(format!("url is longer than {MAX_LINK_BYTES} bytes")),
        Some(url) => {
            if content::canonical_url(url).is_none() {
                return Err(format!("url {url:?} is not an absolute http(s) URL"));
            }
            Some(url.to_owned())
        }
        None => None,
    };
    let guid = item.guid.as_deref().map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned);
    if guid.as_ref().is_some_and(|g| g.len() > MAX_LINK_BYTES) {
        return Err(format!("guid is longer than {MAX_LINK_BYTES} bytes"));
    }
    let author = item.author.as_deref().map(content::html_to_text).filter(|a| !a.is_empty());
    if author.as_ref().is_some_and(|a| a.chars().count() > MAX_AUTHOR_CHARS) {
        return Err(format!("author is longer than {MAX_AUTHOR_CHARS} characters"));
    }
    let language = item.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
    if language.as_ref().is_some_and(|l| l.len() > 35 || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')) {
        return Err("language is not a language tag".to_owned());
    }
    let summary = content::html_to_text(&item.summary);
    let canonical_url = url.as_deref().and_then(content::canonical_url);
    let dedup_key = content::dedup_key(&title, &summary, canonical_url.as_deref().or(guid.as_deref()));
    Ok(NewItem {
        source_id,
        guid,
        url,
        canonical_url,
        content_hash: content::content_hash(&title, &summary),
        dedup_key,
        content_html: content::sanitize_html(&item.summary),
        title,
        summary,
        author,
        published_at: item.published_at,
        language,
    })
}

/// Stores, deduplicates and tags a batch; one bad item does not stop the others.
pub async fn ingest(ctx: &Context, source_id: Option<Uuid>, items: &[IncomingItem]) -> Result<IngestReport, AppError> {
    let mut report = IngestReport::default();
    let tagger = ctx.insight.tagger.current(&ctx.db).await?;
    for (index, item) in items.iter().enumerate() {
        let prepared = match prepare(item, source_id) {
            Ok(prepared) => prepared,
            Err(reason) => {
                report.rejected.push(RejectedItem { index, reason });
                continue;
            }
        };
        let now = ctx.clock.now();
        match news::insert_item(&ctx.db, prepared, now).await? {
            Ok(stored) => {
                let tags = tag_and_store(ctx, &tagger, &stored).await?;
                report.tags += tags;
                report.stored.push(stored.id);
            }
            Err(Duplicate::Guid | Duplicate::Url | Duplicate::Content) => report.duplicates += 1,
        }
    }
    Ok(report)
}

/// Tags a stored item with `tagger`, replacing its tags, and announces it; returns how many tags it got.
pub async fn tag_and_store(
    ctx: &Context,
    tagger: &TaggedText,
    item: &omnisonic_store::entities::news_item::Model,
) -> Result<usize, AppError> {
    let found = ctx.insight.tagger.tag_item(&ctx.db, ctx.clock.now(), tagger, &item.title, &item.summary).await;
    let tags: Vec<NewTag> = found
        .iter()
        .map(|tag| NewTag {
            entity_type: tag.kind.as_str().to_owned(),
            entity_id: tag.entity_id,
            confidence: i16::from(tag.confidence),
            method: tag.method.to_owned(),
            matched_text: tag.matched.chars().take(500).collect(),
            start_offset: i32::try_from(tag.start).unwrap_or(i32::MAX),
            end_offset: i32::try_from(tag.end).unwrap_or(i32::MAX),
        })
        .collect();
    let count = tags.len();
    news::replace_tags(&ctx.db, item.id, tags, &ctx.insight.tagger.version(), ctx.clock.now()).await?;
    let event = serde_json::json!({
        "type": "news.tagged",
        "itemId": item.id,
        "sourceId": item.source_id,
        "title": item.title,
        "url": item.url,
        "tags": found.iter().map(|tag| serde_json::json!({
            "entityType": tag.kind.as_str(),
            "entityId": tag.entity_id,
            "name": tag.name,
            "confidence": tag.confidence,
            "method": tag.method,
            "matchedText": tag.matched,
        })).collect::<Vec<_>>(),
    });
    // Live updates are best effort: the item and its tags are stored whatever pub/sub does.
    if let Err(err) = ctx.pubsub.publish(channels::NEWS_TAGGED, &event.to_string()).await {
        tracing::warn!(error = &err as &dyn std::error::Error, item = %item.id, "could not announce a tagged item");
    }
    Ok(count)
}
