//! Insight: feed sources, news items, entity tags and aliases.
//!
//! News items are deduplicated by unique keys, so concurrent pollers and pushes cannot insert the same article
//! twice: the GUID within its source, the canonical URL (tracking parameters stripped) and a key of the
//! normalised title and summary (near-identical articles across feeds).

use sea_orm_migration::prelude::*;

use super::{timestamp, uuid_pk};

#[derive(DeriveIden)]
enum FeedSources {
    Table,
    Id,
    Url,
    Title,
    Enabled,
    PollIntervalSeconds,
    Etag,
    LastModified,
    LastPolledAt,
    NextPollAt,
    ConsecutiveErrors,
    LastError,
    LastStatus,
    ItemsCount,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NewsItems {
    Table,
    Id,
    SourceId,
    Guid,
    Url,
    CanonicalUrl,
    Title,
    Summary,
    ContentHtml,
    Author,
    PublishedAt,
    FetchedAt,
    SortAt,
    Language,
    ContentHash,
    DedupKey,
    TaggedAt,
    TaggerVersion,
}

#[derive(DeriveIden)]
enum EntityTags {
    Table,
    Id,
    NewsItemId,
    EntityType,
    EntityId,
    Confidence,
    Method,
    MatchedText,
    StartOffset,
    EndOffset,
    TaggerVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EntityAliases {
    Table,
    Id,
    EntityType,
    EntityId,
    Alias,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FeedSources::Table)
                .col(uuid_pk(FeedSources::Id))
                .col(ColumnDef::new(FeedSources::Url).string_len(2048).not_null().unique_key())
                .col(ColumnDef::new(FeedSources::Title).string_len(500))
                .col(ColumnDef::new(FeedSources::Enabled).boolean().not_null())
                .col(ColumnDef::new(FeedSources::PollIntervalSeconds).integer().not_null())
                .col(ColumnDef::new(FeedSources::Etag).string_len(1024))
                .col(ColumnDef::new(FeedSources::LastModified).string_len(128))
                .col(ColumnDef::new(FeedSources::LastPolledAt).timestamp_with_time_zone())
                .col(timestamp(FeedSources::NextPollAt))
                .col(ColumnDef::new(FeedSources::ConsecutiveErrors).integer().not_null())
                .col(ColumnDef::new(FeedSources::LastError).text())
                .col(ColumnDef::new(FeedSources::LastStatus).integer())
                .col(ColumnDef::new(FeedSources::ItemsCount).big_integer().not_null())
                .col(ColumnDef::new(FeedSources::CreatedBy).uuid())
                .col(timestamp(FeedSources::CreatedAt))
                .col(timestamp(FeedSources::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("feed_sources_due_idx")
                .table(FeedSources::Table)
                .col(FeedSources::Enabled)
                .col(FeedSources::NextPollAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(NewsItems::Table)
                .col(uuid_pk(NewsItems::Id))
                .col(ColumnDef::new(NewsItems::SourceId).uuid())
                .col(ColumnDef::new(NewsItems::Guid).string_len(1024))
                .col(ColumnDef::new(NewsItems::Url).string_len(2048))
                .col(ColumnDef::new(NewsItems::CanonicalUrl).string_len(2048))
                .col(ColumnDef::new(NewsItems::Title).string_len(1000).not_null())
                .col(ColumnDef::new(NewsItems::Summary).text().not_null())
                .col(ColumnDef::new(NewsItems::ContentHtml).text().not_null())
                .col(ColumnDef::new(NewsItems::Author).string_len(500))
                .col(ColumnDef::new(NewsItems::PublishedAt).timestamp_with_time_zone())
                .col(timestamp(NewsItems::FetchedAt))
                .col(timestamp(NewsItems::SortAt))
                .col(ColumnDef::new(NewsItems::Language).string_len(35))
                .col(ColumnDef::new(NewsItems::ContentHash).string_len(64).not_null())
                .col(ColumnDef::new(NewsItems::DedupKey).string_len(64).not_null().unique_key())
                .col(ColumnDef::new(NewsItems::TaggedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(NewsItems::TaggerVersion).string_len(32))
                .foreign_key(
                    ForeignKey::create()
                        .from(NewsItems::Table, NewsItems::SourceId)
                        .to(FeedSources::Table, FeedSources::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("news_items_source_guid_key")
                .table(NewsItems::Table)
                .col(NewsItems::SourceId)
                .col(NewsItems::Guid)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("news_items_canonical_url_key")
                .table(NewsItems::Table)
                .col(NewsItems::CanonicalUrl)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, col) in
            [("news_items_sort_idx", NewsItems::SortAt), ("news_items_published_idx", NewsItems::PublishedAt)]
        {
            m.create_index(Index::create().name(name).table(NewsItems::Table).col(col).to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(EntityTags::Table)
                .col(uuid_pk(EntityTags::Id))
                .col(ColumnDef::new(EntityTags::NewsItemId).uuid().not_null())
                .col(ColumnDef::new(EntityTags::EntityType).string_len(16).not_null())
                .col(ColumnDef::new(EntityTags::EntityId).uuid().not_null())
                .col(ColumnDef::new(EntityTags::Confidence).small_integer().not_null())
                .col(ColumnDef::new(EntityTags::Method).string_len(16).not_null())
                .col(ColumnDef::new(EntityTags::MatchedText).string_len(500).not_null())
                .col(ColumnDef::new(EntityTags::StartOffset).integer().not_null())
                .col(ColumnDef::new(EntityTags::EndOffset).integer().not_null())
                .col(ColumnDef::new(EntityTags::TaggerVersion).string_len(32).not_null())
                .col(timestamp(EntityTags::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EntityTags::Table, EntityTags::NewsItemId)
                        .to(NewsItems::Table, NewsItems::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("entity_tags_item_entity_key")
                .table(EntityTags::Table)
                .col(EntityTags::NewsItemId)
                .col(EntityTags::EntityType)
                .col(EntityTags::EntityId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("entity_tags_entity_idx")
                .table(EntityTags::Table)
                .col(EntityTags::EntityId)
                .col(EntityTags::Confidence)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EntityAliases::Table)
                .col(uuid_pk(EntityAliases::Id))
                .col(ColumnDef::new(EntityAliases::EntityType).string_len(16).not_null())
                .col(ColumnDef::new(EntityAliases::EntityId).uuid().not_null())
                .col(ColumnDef::new(EntityAliases::Alias).string_len(500).not_null())
                .col(ColumnDef::new(EntityAliases::CreatedBy).uuid())
                .col(timestamp(EntityAliases::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("entity_aliases_key")
                .table(EntityAliases::Table)
                .col(EntityAliases::EntityType)
                .col(EntityAliases::EntityId)
                .col(EntityAliases::Alias)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EntityAliases::Table.into_iden(),
            EntityTags::Table.into_iden(),
            NewsItems::Table.into_iden(),
            FeedSources::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
