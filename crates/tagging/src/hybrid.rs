//! Fuzzy and embedding scores combined: the second opinion of a sentence model on what the fuzzy tagger
//! weighed.
//!
//! The caller embeds each [`Considered`] mention's window and the entity's [`entity_text`] (with any sentence
//! model; the app uses all-MiniLM-L6-v2) and passes their cosine `s` here with the fuzzy confidence `f`
//! (0–100). With `T` the fuzzy threshold, `τ` the embedding threshold and `h = round(W_FUZZY·f + (1 −
//! W_FUZZY)·100·s)` (see [`hybrid_confidence`]):
//!
//! | fuzzy           | embedding   | result                                      | method               |
//! |-----------------|-------------|---------------------------------------------|----------------------|
//! | `f ≥ T`         | `s ≥ τ`     | kept, confidence `max(f, h)`                | hybrid               |
//! | `f ≥ T`         | `s < τ`     | kept, confidence `f`                        | heuristic or fuzzy   |
//! | `floor ≤ f < T` | `s ≥ τ`     | kept, confidence `max(T, h)`                | embedding            |
//! | `floor ≤ f < T` | `s < τ`     | dropped                                     |                      |
//!
//! A doubtful name ([`Considered::doubtful`]: dropped by the context rules for want of evidence) carries
//! [`crate::tagger::doubtful_confidence`] (60 for an exact name) and takes the rows with `f < T` whatever `T` is,
//! with `τ +` [`DOUBTFUL_MARGIN`] in place of `τ`: overruling the context rules takes more than confirming them.
//!
//! So embeddings add tags the context rules were unsure of and raise the confidence of tags they agree with,
//! but never remove a tag the fuzzy tagger is sure of: the evaluation showed the model's low cosines on short
//! queries are too noisy to veto exact names (see `scripts/bench-tagging.sh`).

use crate::dictionary::{Dictionary, EntityId, EntityKind};
use crate::tagger::{Considered, Method, Tag};

/// The weight of the fuzzy confidence in the hybrid score; the embedding's cosine has the rest.
pub const W_FUZZY: f32 = 0.5;

/// How much surer than `τ` the model must be to lift a doubtful name: overruling the context rules takes more
/// than confirming them.
pub const DOUBTFUL_MARGIN: f32 = 0.05;

/// Embedding settings.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddingConfig {
    /// `TAGGING_EMBEDDING_THRESHOLD`: the cosine at which the model agrees (0.7).
    pub threshold: f32,
    /// The lowest fuzzy confidence the model may lift over the fuzzy threshold.
    pub floor: u8,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        Self { threshold: 0.7, floor: 50 }
    }
}

/// `round(W_FUZZY·f + (1 − W_FUZZY)·100·s)`, with `s` clamped to 0–1.
pub fn hybrid_confidence(fuzzy: u8, cosine: f32) -> u8 {
    let s = if cosine.is_finite() { cosine.clamp(0.0, 1.0) } else { 0.0 };
    let h = W_FUZZY * f32::from(fuzzy) + (1.0 - W_FUZZY) * 100.0 * s;
    // In 0–100 by construction.
    h.round().clamp(0.0, 100.0) as u8
}

/// The tag after the model's opinion (`cosine` between the mention's window and the entity), or `None` when it
/// is dropped; see the module docs for the table.
pub fn combine(considered: &Considered, cosine: f32, fuzzy_threshold: u8, config: EmbeddingConfig) -> Option<Tag> {
    let mut tag = considered.tag.clone();
    let fuzzy = tag.confidence;
    let agrees = cosine >= config.threshold;
    let hybrid = hybrid_confidence(fuzzy, cosine);
    if fuzzy >= fuzzy_threshold && !considered.doubtful {
        if agrees {
            tag.confidence = fuzzy.max(hybrid);
            tag.method = Method::Hybrid;
        }
        return Some(tag);
    }
    let lift_at = if considered.doubtful { config.threshold + DOUBTFUL_MARGIN } else { config.threshold };
    if fuzzy >= config.floor && cosine >= lift_at {
        tag.confidence = fuzzy_threshold.max(hybrid);
        tag.method = Method::Embedding;
        return Some(tag);
    }
    None
}

/// The distinct windows of `considered`, and for each mention the index of its window: mentions of several
/// entities on the same words share one embedding.
pub fn distinct_windows(considered: &[Considered]) -> (Vec<&str>, Vec<usize>) {
    let mut windows: Vec<&str> = Vec::new();
    let mut index = Vec::with_capacity(considered.len());
    for c in considered {
        match windows.iter().position(|w| *w == c.window) {
            Some(i) => index.push(i),
            None => {
                index.push(windows.len());
                windows.push(&c.window);
            }
        }
    }
    (windows, index)
}

/// [`combine`] over every mention, with `cosines[i]` for `considered[i]`: the tags kept, in the text's order.
pub fn decide(considered: &[Considered], cosines: &[f32], fuzzy_threshold: u8, config: EmbeddingConfig) -> Vec<Tag> {
    considered.iter().zip(cosines).filter_map(|(c, s)| combine(c, *s, fuzzy_threshold, config)).collect()
}

/// The text that stands for an entity when it is embedded: its name and what it is, with its artist for a
/// title ("Get Lucky, a song by Daft Punk"), so the model can tell the song from getting lucky at a casino.
pub fn entity_text(dictionary: &Dictionary, id: EntityId) -> String {
    let entity = dictionary.entity(id);
    let artist = entity.related.iter().map(|r| dictionary.entity(*r)).find(|r| r.kind == EntityKind::Party);
    match (entity.kind, artist) {
        (EntityKind::Party, _) => format!("{}, music artist", entity.name),
        (_, Some(artist)) => format!("{}, a song by {}", entity.name, artist.name),
        (_, None) => format!("{}, a song", entity.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DictionaryBuilder, Stoplist, Tagger, TaggerConfig};

    fn considered(confidence: u8) -> Considered {
        Considered {
            tag: Tag {
                entity: EntityId(0),
                kind: EntityKind::Party,
                confidence,
                similarity: 100,
                method: Method::Heuristic,
                start: 0,
                end: 4,
                matched: "Daft".to_owned(),
            },
            doubtful: false,
            window: "Daft".to_owned(),
        }
    }

    #[test]
    fn the_model_confirms_lifts_and_never_vetoes() {
        let config = EmbeddingConfig::default();
        let sure = combine(&considered(80), 0.9, 70, config).expect("kept");
        assert_eq!((sure.method, sure.confidence), (Method::Hybrid, 85));
        let doubted = combine(&considered(80), 0.1, 70, config).expect("kept");
        assert_eq!((doubted.method, doubted.confidence), (Method::Heuristic, 80));
        let lifted = combine(&considered(60), 0.8, 70, config).expect("lifted");
        assert_eq!((lifted.method, lifted.confidence), (Method::Embedding, 70));
        assert_eq!(combine(&considered(60), 0.69, 70, config), None);
        assert_eq!(combine(&considered(49), 0.99, 70, config), None, "below the floor");
    }

    #[test]
    fn mentions_on_the_same_words_share_a_window() {
        let mut other = considered(80);
        other.window = "elsewhere".to_owned();
        let all = [considered(80), other, considered(75)];
        let (windows, index) = distinct_windows(&all);
        assert_eq!(windows, ["Daft", "elsewhere"]);
        assert_eq!(index, [0, 1, 0]);
        let tags = decide(&[considered(80), considered(60)], &[0.2, 0.9], 70, EmbeddingConfig::default());
        assert_eq!(tags.iter().map(|t| t.method).collect::<Vec<_>>(), [Method::Heuristic, Method::Embedding]);
    }

    #[test]
    fn hybrid_confidence_clamps_the_cosine() {
        assert_eq!(hybrid_confidence(100, 1.0), 100);
        assert_eq!(hybrid_confidence(80, -1.0), 40);
        assert_eq!(hybrid_confidence(80, f32::NAN), 40);
        assert_eq!(hybrid_confidence(0, 2.0), 50);
    }

    #[test]
    fn entity_text_names_a_titles_artist() {
        let mut builder = DictionaryBuilder::new();
        let artist = builder.add("a", EntityKind::Party, "Daft Punk");
        let song = builder.add("s", EntityKind::Recording, "Get Lucky");
        let work = builder.add("w", EntityKind::Work, "Harder, Better, Faster, Stronger");
        builder.relate(song, artist);
        let tagger = Tagger::new(builder.build(Stoplist::default()), TaggerConfig::default());
        let dictionary = tagger.dictionary();
        assert_eq!(entity_text(dictionary, artist), "Daft Punk, music artist");
        assert_eq!(entity_text(dictionary, song), "Get Lucky, a song by Daft Punk");
        assert_eq!(entity_text(dictionary, work), "Harder, Better, Faster, Stronger, a song");
    }
}
