//! The tagger's second opinion (`TAGGING_USE_EMBEDDINGS`): a sentence model compares each mention's window with
//! the entity it may name, and [`omnisonic_tagging::hybrid`] combines that with the fuzzy confidence.
//!
//! Entity vectors are cached for [`VECTOR_TTL`] (7 days): in Redis when it is configured (keys expire on their
//! own), else in the `entity_embeddings` table (rows older than that count as missing). The cache key includes a
//! hash of the embedded text (the entity's name and artist) and the model's name, so a renamed entity or another
//! model never gets a stale vector. Model runs are CPU-bound and go to a blocking thread, one at a time. When the
//! model or the cache fails, the item still gets its fuzzy tags (and a warning in the log).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use omnisonic_embed::{SentenceEncoder, cosine, from_bytes, to_bytes};
use omnisonic_platform::ExpiringCache;
use omnisonic_store::Db;
use omnisonic_store::entities::entity_embedding;
use omnisonic_tagging::hybrid::{self, EmbeddingConfig};
use omnisonic_tagging::{Considered, EntityId, Tag, Tagger};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppError;

/// How long an entity vector is reused.
pub const VECTOR_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `TAGGING_*` settings of the model.
#[derive(Debug, Clone)]
pub struct EmbeddingSettings {
    /// `TAGGING_MODEL_PATH`: the folder with `model.safetensors`, `tokenizer.json`, `config.json`.
    pub model_path: PathBuf,
    /// `TAGGING_EMBEDDING_THRESHOLD`: the cosine at which the model agrees.
    pub threshold: f32,
}

/// Where entity vectors are cached.
#[derive(Debug, Clone)]
pub enum VectorStore {
    /// Redis, shared by every node; entries expire after [`VECTOR_TTL`].
    Redis(ExpiringCache),
    /// The `entity_embeddings` table.
    Database,
}

/// The loaded model and its vector cache. Cheap to clone.
#[derive(Clone)]
pub struct Embeddings {
    encoder: Arc<SentenceEncoder>,
    store: VectorStore,
    config: EmbeddingConfig,
    /// One model run at a time: it already uses every core.
    running: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Embeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embeddings").field("encoder", &self.encoder).field("store", &self.store).finish()
    }
}

/// An entity to embed: its dictionary id, catalogue id, and the text that stands for it.
struct Wanted {
    entity: EntityId,
    id: Uuid,
    text: String,
    hash: String,
}

impl Embeddings {
    /// Loads the model (seconds of CPU and 90 MB read: call it from a blocking thread at start-up).
    pub fn load(settings: &EmbeddingSettings, store: VectorStore) -> Result<Self, omnisonic_embed::EmbedError> {
        let encoder = SentenceEncoder::load(&settings.model_path)?;
        Ok(Self {
            encoder: Arc::new(encoder),
            store,
            config: EmbeddingConfig { threshold: settings.threshold, ..EmbeddingConfig::default() },
            running: Arc::new(tokio::sync::Semaphore::new(1)),
        })
    }

    /// The model's name (its folder's).
    pub fn model(&self) -> &str {
        self.encoder.name()
    }

    /// "redis" or "database".
    pub fn describe_store(&self) -> &'static str {
        match self.store {
            VectorStore::Redis(_) => "redis",
            VectorStore::Database => "database",
        }
    }

    /// Tags `text` with fuzzy matching and the model's opinion.
    pub async fn tag(&self, db: &Db, now: chrono::DateTime<chrono::Utc>, tagger: &Tagger, text: &str) -> Vec<Tag> {
        let considered = tagger.consider(text, self.config.floor);
        if considered.is_empty() {
            return Vec::new();
        }
        match self.cosines(db, now, tagger, &considered).await {
            Ok(cosines) => hybrid::decide(&considered, &cosines, tagger.config().fuzzy_threshold, self.config),
            Err(err) => {
                tracing::warn!(error = %err, "embeddings failed; tagging with fuzzy matching only");
                tagger.tag(text)
            }
        }
    }

    async fn cosines(
        &self,
        db: &Db,
        now: chrono::DateTime<chrono::Utc>,
        tagger: &Tagger,
        considered: &[Considered],
    ) -> Result<Vec<f32>, AppError> {
        let dictionary = tagger.dictionary();
        let mut wanted: Vec<Wanted> = Vec::new();
        for c in considered {
            if wanted.iter().any(|w| w.entity == c.tag.entity) {
                continue;
            }
            let Ok(id) = dictionary.entity(c.tag.entity).key.parse::<Uuid>() else { continue };
            let text = hybrid::entity_text(dictionary, c.tag.entity);
            let hash = self.text_hash(&text);
            wanted.push(Wanted { entity: c.tag.entity, id, text, hash });
        }
        let mut vectors = self.cached(db, now, &wanted).await;
        let missing: Vec<&Wanted> = wanted.iter().filter(|w| !vectors.contains_key(&w.entity)).collect();
        let (windows, index) = hybrid::distinct_windows(considered);
        let mut texts: Vec<String> = windows.iter().map(|w| (*w).to_owned()).collect();
        texts.extend(missing.iter().map(|w| w.text.clone()));
        let encoded = self.encode(texts).await?;
        let (window_vectors, new_vectors) = encoded.split_at(windows.len());
        let fresh: Vec<(&Wanted, Vec<f32>)> = missing.into_iter().zip(new_vectors.iter().cloned()).collect();
        self.remember(db, now, &fresh).await;
        vectors.extend(fresh.into_iter().map(|(w, v)| (w.entity, v)));
        Ok(considered
            .iter()
            .zip(index)
            .map(|(c, i)| vectors.get(&c.tag.entity).map_or(0.0, |v| cosine(&window_vectors[i], v)))
            .collect())
    }

    fn text_hash(&self, text: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.encoder.name().as_bytes());
        hasher.update(b"\n");
        hasher.update(text.as_bytes());
        format!("{:x}", hasher.finalize())
    }

    fn redis_key(&self, wanted: &Wanted) -> String {
        self.key_of(wanted.id, &wanted.hash)
    }

    /// The Redis cache key (under the cache's prefix) of the vector of `entity_text` for the entity `id`.
    pub fn cache_key(&self, id: Uuid, entity_text: &str) -> String {
        self.key_of(id, &self.text_hash(entity_text))
    }

    fn key_of(&self, id: Uuid, hash: &str) -> String {
        format!("embedding:{}:{id}:{}", self.encoder.name(), &hash[..16])
    }

    async fn encode(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, AppError> {
        let unavailable = |source: Box<dyn std::error::Error + Send + Sync>| AppError::Unavailable {
            what: "the tagging model".to_owned(),
            source,
        };
        let _turn = self.running.acquire().await.map_err(|e| unavailable(Box::new(e)))?;
        let encoder = self.encoder.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            encoder.encode(&refs)
        })
        .await
        .map_err(|e| unavailable(Box::new(e)))?
        .map_err(|e| unavailable(Box::new(e)))
    }

    /// Vectors of `wanted` found in the cache; a cache error counts as all missing.
    async fn cached(
        &self,
        db: &Db,
        now: chrono::DateTime<chrono::Utc>,
        wanted: &[Wanted],
    ) -> HashMap<EntityId, Vec<f32>> {
        let dimensions = self.encoder.dimensions();
        let mut found = HashMap::new();
        match &self.store {
            VectorStore::Redis(cache) => {
                let keys: Vec<String> = wanted.iter().map(|w| self.redis_key(w)).collect();
                match cache.get_many(&keys).await {
                    Ok(values) => {
                        for (w, value) in wanted.iter().zip(values) {
                            if let Some(vector) = value.and_then(|v| from_bytes(&v, dimensions)) {
                                found.insert(w.entity, vector);
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "entity vector cache unavailable"),
                }
            }
            VectorStore::Database => {
                let ids: Vec<Uuid> = wanted.iter().map(|w| w.id).collect();
                let since = now - chrono::Duration::from_std(VECTOR_TTL).unwrap_or_default();
                match omnisonic_store::tagging::embeddings_of(&**db, &ids, self.encoder.name(), since).await {
                    Ok(rows) => {
                        for row in rows {
                            let Some(w) = wanted.iter().find(|w| w.id == row.entity_id && w.hash == row.text_hash)
                            else {
                                continue;
                            };
                            if let Some(vector) = from_bytes(&row.vector, dimensions) {
                                found.insert(w.entity, vector);
                            }
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "entity vector cache unavailable"),
                }
            }
        }
        found
    }

    /// Caches new vectors; failing to is only a warning (they are computed again next time).
    async fn remember(&self, db: &Db, now: chrono::DateTime<chrono::Utc>, fresh: &[(&Wanted, Vec<f32>)]) {
        let result = match &self.store {
            VectorStore::Redis(cache) => {
                let entries: Vec<(String, Vec<u8>)> =
                    fresh.iter().map(|(w, v)| (self.redis_key(w), to_bytes(v))).collect();
                cache.put_many(&entries, VECTOR_TTL).await.map_err(|e| e.to_string())
            }
            VectorStore::Database => {
                let rows = fresh
                    .iter()
                    .map(|(w, v)| entity_embedding::Model {
                        entity_id: w.id,
                        text_hash: w.hash.clone(),
                        model: self.encoder.name().to_owned(),
                        vector: to_bytes(v),
                        computed_at: now,
                    })
                    .collect();
                omnisonic_store::tagging::save_embeddings(&**db, rows).await.map_err(|e| e.to_string())
            }
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not cache entity vectors");
        }
    }
}
