//! What the tagger needs from the catalogue: every name, alias and artist relation, and a cheap fingerprint of
//! them to tell when a built dictionary is stale.

use crate::StoreError;
use crate::entities::{contribution, entity_alias, entity_embedding, party, recording, work};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QuerySelect, Statement};
use uuid::Uuid;

/// The catalogue's names.
#[derive(Debug, Default)]
pub struct CatalogueNames {
    /// (id, name) of every party.
    pub parties: Vec<(Uuid, String)>,
    /// (id, title) of every work.
    pub works: Vec<(Uuid, String)>,
    /// (id, title, display artist, work) of every recording.
    pub recordings: Vec<(Uuid, String, String, Option<Uuid>)>,
    /// (party, work, recording) of every contribution.
    pub contributions: Vec<(Uuid, Option<Uuid>, Option<Uuid>)>,
    /// (entity type, entity id, alias) of every alias.
    pub aliases: Vec<(String, Uuid, String)>,
}

/// Reads every name the tagger matches.
pub async fn catalogue_names(db: &impl ConnectionTrait) -> Result<CatalogueNames, StoreError> {
    let parties = party::Entity::find()
        .select_only()
        .column(party::Column::Id)
        .column(party::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let works = work::Entity::find()
        .select_only()
        .column(work::Column::Id)
        .column(work::Column::Title)
        .into_tuple()
        .all(db)
        .await?;
    let recordings = recording::Entity::find()
        .select_only()
        .column(recording::Column::Id)
        .column(recording::Column::Title)
        .column(recording::Column::Artist)
        .column(recording::Column::WorkId)
        .into_tuple()
        .all(db)
        .await?;
    let contributions = contribution::Entity::find()
        .select_only()
        .column(contribution::Column::PartyId)
        .column(contribution::Column::WorkId)
        .column(contribution::Column::RecordingId)
        .into_tuple()
        .all(db)
        .await?;
    let aliases = entity_alias::Entity::find()
        .select_only()
        .column(entity_alias::Column::EntityType)
        .column(entity_alias::Column::EntityId)
        .column(entity_alias::Column::Alias)
        .into_tuple()
        .all(db)
        .await?;
    Ok(CatalogueNames { parties, works, recordings, contributions, aliases })
}

/// A fingerprint of the names: counts, latest changes and total name lengths of parties, works, recordings,
/// contributions and aliases. Any added, removed or renamed entity changes it (a rename to a name of the same
/// length on a party, which has no `updated_at`, is the one change it can miss until something else changes).
pub async fn catalogue_fingerprint(db: &impl ConnectionTrait) -> Result<String, StoreError> {
    let sql = "SELECT \
        (SELECT COUNT(*) FROM parties) || ':' || COALESCE((SELECT SUM(LENGTH(name)) FROM parties), 0) || ':' || \
        COALESCE((SELECT CAST(MAX(created_at) AS TEXT) FROM parties), '') || '|' || \
        (SELECT COUNT(*) FROM works) || ':' || COALESCE((SELECT CAST(MAX(updated_at) AS TEXT) FROM works), '') || '|' || \
        (SELECT COUNT(*) FROM recordings) || ':' || COALESCE((SELECT CAST(MAX(updated_at) AS TEXT) FROM recordings), '') || '|' || \
        (SELECT COUNT(*) FROM contributions) || '|' || \
        (SELECT COUNT(*) FROM entity_aliases) || ':' || COALESCE((SELECT CAST(MAX(created_at) AS TEXT) FROM entity_aliases), '') \
        AS fingerprint";
    let backend: DbBackend = db.get_database_backend();
    let row = db.query_one_raw(Statement::from_string(backend, sql)).await?;
    let fingerprint: Option<String> = match row {
        Some(row) => row.try_get("", "fingerprint")?,
        None => None,
    };
    Ok(fingerprint.unwrap_or_default())
}

/// Cached entity vectors of `model` among `entity_ids`, computed at or after `since`.
pub async fn embeddings_of(
    db: &impl ConnectionTrait,
    entity_ids: &[Uuid],
    model: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<entity_embedding::Model>, StoreError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut found = Vec::new();
    // Bounded IN lists: an item has a handful of candidates, a re-tag batch a few hundred.
    for chunk in entity_ids.chunks(500) {
        found.extend(
            entity_embedding::Entity::find()
                .filter(entity_embedding::Column::EntityId.is_in(chunk.iter().copied()))
                .filter(entity_embedding::Column::Model.eq(model))
                .filter(entity_embedding::Column::ComputedAt.gte(since))
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

/// Stores entity vectors, replacing each entity's previous one.
pub async fn save_embeddings(db: &impl ConnectionTrait, rows: Vec<entity_embedding::Model>) -> Result<(), StoreError> {
    use sea_orm::IntoActiveModel;
    use sea_orm::sea_query::OnConflict;
    if rows.is_empty() {
        return Ok(());
    }
    entity_embedding::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .on_conflict(
            OnConflict::column(entity_embedding::Column::EntityId)
                .update_columns([
                    entity_embedding::Column::TextHash,
                    entity_embedding::Column::Model,
                    entity_embedding::Column::Vector,
                    entity_embedding::Column::ComputedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
