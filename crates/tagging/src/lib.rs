//! Omnisonic's entity tagger: finds the catalogue's parties, works and recordings in news text.
//!
//! A pure library — no async, no network, no database. The caller builds a [`Dictionary`] from the catalogue
//! (names, aliases, which recordings belong to which artists) with a [`DictionaryBuilder`], wraps it in a
//! [`Tagger`] and calls [`Tagger::tag`] on each text. The steps — [`normalize`], candidates from a token trie
//! with near-miss words, context rules, overlap resolution — are described in the module docs of
//! `normalize`, `dictionary` and `tagger`.
//!
//! [`hybrid`] combines the fuzzy confidence with a sentence model's opinion, when the caller has one.
//!
//! [`TAGGER_VERSION`] names the behaviour: stored tags record it, and a re-tag replaces tags of other versions.

mod dictionary;
pub mod hybrid;
pub mod normalize;
mod stoplist;
mod tagger;

pub use dictionary::{Dictionary, DictionaryBuilder, Entity, EntityId, EntityKind, NEAR_MIN_CHARS, name_forms};
pub use stoplist::Stoplist;
pub use tagger::{Considered, Method, Tag, Tagger, TaggerConfig, WINDOW_TOKENS, doubtful_confidence};

/// The tagger's behaviour version; bump it when the same text and catalogue would get different tags.
pub const TAGGER_VERSION: &str = "2026.12.1";
