//! The tagger over the live catalogue: built from the database's names, aliases and credits, and rebuilt when
//! the catalogue's fingerprint changes (a new artist, a renamed work, an alias), so new items are always tagged
//! against the current catalogue. Building takes about a tenth of a second per ten thousand entities and runs on
//! a blocking thread.

use std::collections::HashMap;
use std::sync::Arc;

use omnisonic_store::Db;
use omnisonic_store::tagging::CatalogueNames;
use omnisonic_tagging::{DictionaryBuilder, EntityId, EntityKind, Stoplist, Tagger, TaggerConfig, normalize};
use uuid::Uuid;

use super::embeddings::Embeddings;
use crate::AppError;

/// A tag found in an item, with the entity's id in the catalogue.
#[derive(Debug, Clone)]
pub struct FoundTag {
    /// Party, work or recording.
    pub kind: EntityKind,
    /// The entity.
    pub entity_id: Uuid,
    /// Its name.
    pub name: String,
    /// Confidence 0–100.
    pub confidence: u8,
    /// `heuristic`, `fuzzy`, `embedding` or `hybrid`.
    pub method: &'static str,
    /// The words as written.
    pub matched: String,
    /// Byte range in the tagged text ([`tagged_text`]).
    pub start: usize,
    /// End of that range.
    pub end: usize,
}

/// The text an item is tagged on, which tag offsets refer to: the title, a blank line, the summary.
pub fn tagged_text(title: &str, summary: &str) -> String {
    if summary.is_empty() { title.to_owned() } else { format!("{title}\n\n{summary}") }
}

/// A tagger built for one catalogue state.
#[derive(Debug)]
pub struct TaggedText {
    tagger: Tagger,
}

impl TaggedText {
    /// Tags an item's title and summary with fuzzy matching alone.
    pub fn tag_item(&self, title: &str, summary: &str) -> Vec<FoundTag> {
        self.found(self.tagger.tag(&tagged_text(title, summary)))
    }

    /// The tags with their entities' catalogue ids and names.
    fn found(&self, tags: Vec<omnisonic_tagging::Tag>) -> Vec<FoundTag> {
        tags.into_iter()
            .filter_map(|tag| {
                let entity = self.tagger.dictionary().entity(tag.entity);
                Some(FoundTag {
                    kind: entity.kind,
                    entity_id: entity.key.parse().ok()?,
                    name: entity.name.clone(),
                    confidence: tag.confidence,
                    method: tag.method.as_str(),
                    matched: tag.matched,
                    start: tag.start,
                    end: tag.end,
                })
            })
            .collect()
    }

    /// Why each candidate in `text` was or was not tagged (for editors).
    pub fn explain(&self, text: &str) -> Vec<String> {
        self.tagger.explain(text).1
    }

    /// How many entities the dictionary holds.
    pub fn entities(&self) -> usize {
        self.tagger.dictionary().entities().len()
    }
}

/// Settings of the tagger (`TAGGING_*`).
#[derive(Debug, Clone)]
pub struct TaggingSettings {
    /// `TAGGING_FUZZY_THRESHOLD`: minimum confidence of a tag (0–100).
    pub fuzzy_threshold: u8,
    /// `TAGGING_STOPLIST`: extra common words (comma- or space-separated), on top of the built-in list.
    pub extra_stopwords: String,
}

impl Default for TaggingSettings {
    fn default() -> Self {
        Self { fuzzy_threshold: 70, extra_stopwords: String::new() }
    }
}

/// The current tagger, rebuilt when the catalogue changes. Cheap to clone; clones share the tagger.
#[derive(Clone)]
pub struct TaggerCache {
    settings: Arc<TaggingSettings>,
    current: Arc<tokio::sync::Mutex<Option<Built>>>,
    embeddings: Option<Embeddings>,
}

/// A tagger and the catalogue fingerprint it was built for.
type Built = (String, Arc<TaggedText>);

impl TaggerCache {
    /// An empty cache (the first use builds the tagger).
    pub fn new(settings: TaggingSettings) -> Self {
        Self { settings: Arc::new(settings), current: Arc::new(tokio::sync::Mutex::new(None)), embeddings: None }
    }

    /// The same cache, tagging with the sentence model's second opinion (`TAGGING_USE_EMBEDDINGS`).
    pub fn with_embeddings(self, embeddings: Embeddings) -> Self {
        Self { embeddings: Some(embeddings), ..self }
    }

    /// The version stored on tags: the tagger's, and the sentence model's when embeddings are on
    /// (`2026.12.1+all-minilm-l6-v2`), at most 32 characters (the column's width; the model is named by its
    /// folder, which an operator chooses).
    pub fn version(&self) -> String {
        match &self.embeddings {
            Some(embeddings) => {
                format!("{}+{}", omnisonic_tagging::TAGGER_VERSION, embeddings.model()).chars().take(32).collect()
            }
            None => omnisonic_tagging::TAGGER_VERSION.to_owned(),
        }
    }

    /// The sentence model, when embeddings are on.
    pub fn embeddings(&self) -> Option<&Embeddings> {
        self.embeddings.as_ref()
    }

    /// Tags an item's title and summary with `tagged` (from [`TaggerCache::current`]): fuzzy matching, and the
    /// sentence model's opinion when embeddings are on.
    pub async fn tag_item(
        &self,
        db: &Db,
        now: chrono::DateTime<chrono::Utc>,
        tagged: &TaggedText,
        title: &str,
        summary: &str,
    ) -> Vec<FoundTag> {
        match &self.embeddings {
            Some(embeddings) => {
                let tags = embeddings.tag(db, now, &tagged.tagger, &tagged_text(title, summary)).await;
                tagged.found(tags)
            }
            None => tagged.tag_item(title, summary),
        }
    }

    /// The tagger for the catalogue as it is now.
    pub async fn current(&self, db: &Db) -> Result<Arc<TaggedText>, AppError> {
        let fingerprint = omnisonic_store::tagging::catalogue_fingerprint(&**db).await?;
        let mut current = self.current.lock().await;
        if let Some((built_for, tagger)) = current.as_ref()
            && *built_for == fingerprint
        {
            return Ok(tagger.clone());
        }
        let names = omnisonic_store::tagging::catalogue_names(&**db).await?;
        let settings = self.settings.clone();
        let tagger = tokio::task::spawn_blocking(move || build(names, &settings))
            .await
            .map_err(|e| AppError::Unavailable { what: "the tagger".to_owned(), source: Box::new(e) })?;
        let tagger = Arc::new(tagger);
        tracing::info!(entities = tagger.entities(), "tagging dictionary built");
        *current = Some((fingerprint, tagger.clone()));
        Ok(tagger)
    }
}

/// Builds the dictionary: every party, work and recording by name and alias; recordings related to the parties
/// credited on them or on their work, and to the party named as their display artist.
pub fn build(names: CatalogueNames, settings: &TaggingSettings) -> TaggedText {
    let mut builder = DictionaryBuilder::new();
    let mut ids: HashMap<Uuid, EntityId> = HashMap::new();
    let mut party_by_name: HashMap<String, EntityId> = HashMap::new();
    for (id, name) in &names.parties {
        let entity = builder.add(id.to_string(), EntityKind::Party, name);
        ids.insert(*id, entity);
        party_by_name.entry(normalize::normalize(name)).or_insert(entity);
    }
    for (id, title) in &names.works {
        ids.insert(*id, builder.add(id.to_string(), EntityKind::Work, title));
    }
    for (id, title, artist, work) in &names.recordings {
        let entity = builder.add(id.to_string(), EntityKind::Recording, title);
        ids.insert(*id, entity);
        if let Some(&party) = party_by_name.get(&normalize::normalize(artist)) {
            builder.relate(entity, party);
        }
        if let Some(work) = work.and_then(|w| ids.get(&w)) {
            builder.relate(entity, *work);
        }
    }
    for (party, work, recording) in &names.contributions {
        let Some(&party) = ids.get(party) else { continue };
        for other in [work, recording].into_iter().flatten() {
            if let Some(&other) = ids.get(other) {
                builder.relate(party, other);
            }
        }
    }
    for (_, entity, alias) in &names.aliases {
        if let Some(&id) = ids.get(entity) {
            builder.alias(id, alias);
        }
    }
    let mut stoplist = Stoplist::default();
    stoplist.extend_from_text(&settings.extra_stopwords);
    let config = TaggerConfig { fuzzy_threshold: settings.fuzzy_threshold, ..TaggerConfig::default() };
    TaggedText { tagger: Tagger::new(builder.build(stoplist), config) }
}
