//! `entity_tags`: a catalogue entity mentioned in a news item (one per item and entity).

use sea_orm::entity::prelude::*;

/// An entity tag row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entity_tags")]
pub struct Model {
    /// Primary key (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The news item.
    pub news_item_id: Uuid,
    /// `party`, `work` or `recording`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: Uuid,
    /// Confidence, 0–100.
    pub confidence: i16,
    /// `heuristic`, `fuzzy`, `embedding` or `hybrid`.
    pub method: String,
    /// The words that matched, as written.
    pub matched_text: String,
    /// Byte offset of the match in the tagged text (title, blank line, summary).
    pub start_offset: i32,
    /// Byte offset just past the match.
    pub end_offset: i32,
    /// The tagger version that made the tag.
    pub tagger_version: String,
    /// When the tag was made.
    pub created_at: DateTimeUtc,
}

/// Relations of an entity tag.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
