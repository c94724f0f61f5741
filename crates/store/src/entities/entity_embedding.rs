//! `entity_embeddings`: cached entity vectors of the tagger's sentence model (when no Redis is configured).

use sea_orm::entity::prelude::*;

/// One entity's vector.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entity_embeddings")]
pub struct Model {
    /// The party, work or recording.
    #[sea_orm(primary_key, auto_increment = false)]
    pub entity_id: Uuid,
    /// SHA-256 (hex) of the text that was embedded: a renamed entity no longer matches.
    pub text_hash: String,
    /// The model's name.
    pub model: String,
    /// Little-endian `f32`s.
    pub vector: Vec<u8>,
    /// When it was computed; older than the cache's lifetime (7 days) counts as missing.
    pub computed_at: DateTimeUtc,
}

/// Relations of a vector.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
