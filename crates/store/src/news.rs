//! News items and their entity tags.
//!
//! [`insert_item`] is the one way an item is stored: it skips an item that is already here by its source's
//! GUID, its canonical URL or its near-duplicate key, checked in that order and backed by unique indexes, so
//! concurrent pollers cannot store an article twice. Tags of an item are only ever replaced whole
//! ([`replace_tags`], one transaction), so readers see the old set or the new one.

use crate::StoreError;
use crate::entities::{entity_alias, entity_tag, news_item};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

/// An item to store (validated and normalised by the caller).
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Its feed, or `None` for a pushed item.
    pub source_id: Option<Uuid>,
    /// The entry's id in its feed.
    pub guid: Option<String>,
    /// Link as given.
    pub url: Option<String>,
    /// Canonical link.
    pub canonical_url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Author.
    pub author: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Language.
    pub language: Option<String>,
    /// Hash of the normalised title and summary.
    pub content_hash: String,
    /// Near-duplicate key.
    pub dedup_key: String,
}

/// Why an item was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicate {
    /// Its source already has an entry with this GUID.
    Guid,
    /// An item with the same canonical URL exists (in any feed).
    Url,
    /// An item with the same normalised title and summary exists (in any feed).
    Content,
}

/// Stores an item unless it is a duplicate.
pub async fn insert_item(
    db: &impl ConnectionTrait,
    item: NewItem,
    now: DateTime<Utc>,
) -> Result<Result<news_item::Model, Duplicate>, StoreError> {
    if let Some(duplicate) = find_duplicate(db, &item).await? {
        return Ok(Err(duplicate));
    }
    let sort_at = item.published_at.map_or(now, |published| Ord::min(published, now));
    let row = news_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        source_id: Set(item.source_id),
        guid: Set(item.guid.clone()),
        url: Set(item.url.clone()),
        canonical_url: Set(item.canonical_url.clone()),
        title: Set(item.title.clone()),
        summary: Set(item.summary.clone()),
        content_html: Set(item.content_html.clone()),
        author: Set(item.author.clone()),
        published_at: Set(item.published_at),
        fetched_at: Set(now),
        sort_at: Set(sort_at),
        language: Set(item.language.clone()),
        content_hash: Set(item.content_hash.clone()),
        dedup_key: Set(item.dedup_key.clone()),
        tagged_at: Set(None),
        tagger_version: Set(None),
    };
    match news_item::Entity::insert(row).exec_with_returning(db).await {
        Ok(model) => Ok(Ok(model)),
        // Another poller stored it between our look and our insert: the unique keys decide.
        Err(err) => match StoreError::from(err) {
            StoreError::Conflict { .. } => Ok(Err(find_duplicate(db, &item).await?.unwrap_or(Duplicate::Content))),
            other => Err(other),
        },
    }
}

async fn find_duplicate(db: &impl ConnectionTrait, item: &NewItem) -> Result<Option<Duplicate>, StoreError> {
    if let (Some(source), Some(guid)) = (item.source_id, &item.guid) {
        let found = news_item::Entity::find()
            .select_only()
            .column(news_item::Column::Id)
            .filter(news_item::Column::SourceId.eq(source))
            .filter(news_item::Column::Guid.eq(guid.as_str()))
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(Some(Duplicate::Guid));
        }
    }
    if let Some(url) = &item.canonical_url {
        let found = news_item::Entity::find()
            .select_only()
            .column(news_item::Column::Id)
            .filter(news_item::Column::CanonicalUrl.eq(url.as_str()))
            .into_tuple::<Uuid>()
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(Some(Duplicate::Url));
        }
    }
    let found = news_item::Entity::find()
        .select_only()
        .column(news_item::Column::Id)
        .filter(news_item::Column::DedupKey.eq(item.dedup_key.as_str()))
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.map(|_| Duplicate::Content))
}

/// The item with this id, or [`StoreError::NotFound`].
pub async fn get_item(db: &impl ConnectionTrait, id: Uuid) -> Result<news_item::Model, StoreError> {
    news_item::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: "news item", id: id.to_string() })
}

/// A tag to store.
#[derive(Debug, Clone)]
pub struct NewTag {
    /// `party`, `work` or `recording`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: Uuid,
    /// 0–100.
    pub confidence: i16,
    /// How it was found.
    pub method: String,
    /// The matched words.
    pub matched_text: String,
    /// Byte range in the tagged text.
    pub start_offset: i32,
    /// End of that range.
    pub end_offset: i32,
}

/// Replaces an item's tags with `tags` (one per entity) in one transaction and stamps the item as tagged by
/// `version`.
pub async fn replace_tags(
    db: &DatabaseConnection,
    item_id: Uuid,
    tags: Vec<NewTag>,
    version: &str,
    now: DateTime<Utc>,
) -> Result<Vec<entity_tag::Model>, StoreError> {
    let txn = db.begin().await?;
    entity_tag::Entity::delete_many().filter(entity_tag::Column::NewsItemId.eq(item_id)).exec(&txn).await?;
    let rows: Vec<entity_tag::ActiveModel> = tags
        .into_iter()
        .map(|tag| entity_tag::ActiveModel {
            id: Set(Uuid::now_v7()),
            news_item_id: Set(item_id),
            entity_type: Set(tag.entity_type),
            entity_id: Set(tag.entity_id),
            confidence: Set(tag.confidence),
            method: Set(tag.method),
            matched_text: Set(tag.matched_text),
            start_offset: Set(tag.start_offset),
            end_offset: Set(tag.end_offset),
            tagger_version: Set(version.to_owned()),
            created_at: Set(now),
        })
        .collect();
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        stored.push(entity_tag::Entity::insert(row).exec_with_returning(&txn).await?);
    }
    news_item::Entity::update_many()
        .col_expr(news_item::Column::TaggedAt, Expr::value(now))
        .col_expr(news_item::Column::TaggerVersion, Expr::value(version))
        .filter(news_item::Column::Id.eq(item_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(stored)
}

/// Which items a list shows.
#[derive(Debug, Clone, Default)]
pub struct NewsFilter {
    /// Only items tagged with this entity.
    pub entity_id: Option<Uuid>,
    /// Only items tagged with an entity of this type.
    pub entity_type: Option<String>,
    /// Only items from this source.
    pub source_id: Option<Uuid>,
    /// Only items sorted at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only items sorted before this time.
    pub to: Option<DateTime<Utc>>,
    /// With entity filters: only tags of at least this confidence.
    pub min_confidence: Option<i16>,
}

/// A position in the list: the last item's sort time and id.
pub type NewsCursor = (DateTime<Utc>, Uuid);

/// Items of the filter's source and sort-time range (the entity filters are [`list_items`]'s own).
fn scoped(filter: &NewsFilter) -> sea_orm::Select<news_item::Entity> {
    let mut query = news_item::Entity::find();
    if let Some(source) = filter.source_id {
        query = query.filter(news_item::Column::SourceId.eq(source));
    }
    if let Some(from) = filter.from {
        query = query.filter(news_item::Column::SortAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(news_item::Column::SortAt.lt(to));
    }
    query
}

/// Items newest first, after `cursor`, at most `limit`.
pub async fn list_items(
    db: &impl ConnectionTrait,
    filter: &NewsFilter,
    cursor: Option<NewsCursor>,
    limit: u64,
) -> Result<Vec<news_item::Model>, StoreError> {
    let mut query = scoped(filter);
    if filter.entity_id.is_some() || filter.entity_type.is_some() || filter.min_confidence.is_some() {
        let mut tags = Condition::all().add(
            Expr::col((entity_tag::Entity, entity_tag::Column::NewsItemId))
                .equals((news_item::Entity, news_item::Column::Id)),
        );
        if let Some(entity) = filter.entity_id {
            tags = tags.add(entity_tag::Column::EntityId.eq(entity));
        }
        if let Some(kind) = &filter.entity_type {
            tags = tags.add(entity_tag::Column::EntityType.eq(kind.as_str()));
        }
        if let Some(min) = filter.min_confidence {
            tags = tags.add(entity_tag::Column::Confidence.gte(min));
        }
        let exists =
            sea_orm::sea_query::Query::select().expr(Expr::val(1)).from(entity_tag::Entity).cond_where(tags).to_owned();
        query = query.filter(Expr::exists(exists).into_condition());
    }
    if let Some((at, id)) = cursor {
        query = query.filter(
            Condition::any()
                .add(news_item::Column::SortAt.lt(at))
                .add(Condition::all().add(news_item::Column::SortAt.eq(at)).add(news_item::Column::Id.lt(id))),
        );
    }
    Ok(query.order_by_desc(news_item::Column::SortAt).order_by_desc(news_item::Column::Id).limit(limit).all(db).await?)
}

/// The tags of these items, best first within each item.
pub async fn tags_of(db: &impl ConnectionTrait, item_ids: &[Uuid]) -> Result<Vec<entity_tag::Model>, StoreError> {
    if item_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(entity_tag::Entity::find()
        .filter(entity_tag::Column::NewsItemId.is_in(item_ids.iter().copied()))
        .order_by_asc(entity_tag::Column::NewsItemId)
        .order_by_asc(entity_tag::Column::StartOffset)
        .all(db)
        .await?)
}

/// Items to re-tag, in id order after `after`: all, or those of a source or a sort-time range.
pub async fn items_for_retag(
    db: &impl ConnectionTrait,
    filter: &NewsFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<news_item::Model>, StoreError> {
    let mut query = scoped(filter);
    if let Some(after) = after {
        query = query.filter(news_item::Column::Id.gt(after));
    }
    Ok(query.order_by_asc(news_item::Column::Id).limit(limit).all(db).await?)
}

/// How many items a re-tag with this filter covers.
pub async fn count_for_retag(db: &impl ConnectionTrait, filter: &NewsFilter) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    let query = scoped(filter);
    Ok(query.count(db).await?)
}

/// Adds an alias; [`StoreError::Conflict`] when the entity already has it.
pub async fn add_alias(
    db: &impl ConnectionTrait,
    entity_type: &str,
    entity_id: Uuid,
    alias: &str,
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<entity_alias::Model, StoreError> {
    let row = entity_alias::ActiveModel {
        id: Set(Uuid::now_v7()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id),
        alias: Set(alias.to_owned()),
        created_by: Set(created_by),
        created_at: Set(now),
    };
    Ok(entity_alias::Entity::insert(row).exec_with_returning(db).await?)
}

/// An entity's aliases, oldest first; with `None`, every alias.
pub async fn aliases_of(
    db: &impl ConnectionTrait,
    entity_id: Option<Uuid>,
) -> Result<Vec<entity_alias::Model>, StoreError> {
    let mut query = entity_alias::Entity::find();
    if let Some(id) = entity_id {
        query = query.filter(entity_alias::Column::EntityId.eq(id));
    }
    Ok(query.order_by_asc(entity_alias::Column::CreatedAt).order_by_asc(entity_alias::Column::Id).all(db).await?)
}

/// Removes an alias; `false` when there was none.
pub async fn delete_alias(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, StoreError> {
    Ok(entity_alias::Entity::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

/// Every alias.
pub async fn all_aliases(db: &impl ConnectionTrait) -> Result<Vec<entity_alias::Model>, StoreError> {
    Ok(entity_alias::Entity::find().order_by_asc(entity_alias::Column::CreatedAt).all(db).await?)
}
