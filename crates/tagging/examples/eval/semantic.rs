//! The tagger with the sentence model's second opinion ([`omnisonic_tagging::hybrid`]), as the app runs it:
//! each considered mention's window and each entity's text embedded, entity vectors cached.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use omnisonic_embed::{SentenceEncoder, cosine};
use omnisonic_tagging::hybrid::{self, EmbeddingConfig};
use omnisonic_tagging::{Considered, EntityId, Tag, Tagger};

pub struct Semantic {
    encoder: SentenceEncoder,
    config: EmbeddingConfig,
    entities: HashMap<EntityId, Vec<f32>>,
    windows: usize,
}

impl Semantic {
    pub fn load(dir: &Path) -> Result<Self> {
        Ok(Self {
            encoder: SentenceEncoder::load(dir)?,
            config: EmbeddingConfig::default(),
            entities: HashMap::new(),
            windows: 0,
        })
    }

    /// Considered mentions with their cosines.
    pub fn weigh(&mut self, tagger: &Tagger, text: &str) -> Result<Vec<(Considered, f32)>> {
        let considered = tagger.consider(text, self.config.floor);
        if considered.is_empty() {
            return Ok(Vec::new());
        }
        let missing: Vec<EntityId> =
            considered.iter().map(|c| c.tag.entity).filter(|e| !self.entities.contains_key(e)).collect();
        if !missing.is_empty() {
            let texts: Vec<String> = missing.iter().map(|e| hybrid::entity_text(tagger.dictionary(), *e)).collect();
            let vectors = self.encoder.encode(&texts.iter().map(String::as_str).collect::<Vec<_>>())?;
            self.entities.extend(missing.into_iter().zip(vectors));
        }
        let (windows, index) = hybrid::distinct_windows(&considered);
        self.windows += windows.len();
        let windows = self.encoder.encode(&windows)?;
        let cosines: Vec<f32> =
            considered.iter().zip(index).map(|(c, i)| cosine(&windows[i], &self.entities[&c.tag.entity])).collect();
        Ok(considered.into_iter().zip(cosines).collect())
    }

    pub fn tag(&mut self, tagger: &Tagger, text: &str) -> Result<Vec<Tag>> {
        let threshold = tagger.config().fuzzy_threshold;
        let config = self.config;
        Ok(self.weigh(tagger, text)?.iter().filter_map(|(c, s)| hybrid::combine(c, *s, threshold, config)).collect())
    }

    pub fn entities_embedded(&self) -> usize {
        self.entities.len()
    }

    /// Mention windows embedded so far.
    pub fn windows_embedded(&self) -> usize {
        self.windows
    }
}
