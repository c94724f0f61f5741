//! Insight (spec 3.1): feed sources and their polling, news items (from feeds or pushed), the entity tagger over
//! the catalogue, and re-tagging.
//!
//! * `feeds` — sources (added only after the outbound guard checked the URL) and polling: conditional GETs,
//!   backoff, server delays;
//! * character sets, feed parsing, plain text, sanitised HTML, canonical links and duplicate keys are the pure
//!   `omnisonic-news` crate's;
//! * `ingest` — the one path an item takes into the database, from a feed or `POST /ingest/news`;
//! * `tagger` — the tagging dictionary over the live catalogue, rebuilt when the catalogue changes;
//! * `embeddings` — the sentence model's second opinion and its entity vector cache (`TAGGING_USE_EMBEDDINGS`);
//! * `retag` — the re-tagging job;
//! * `aliases` — other names of entities, added by editors.

pub mod aliases;
pub mod embeddings;
pub mod feeds;
pub mod ingest;
pub mod retag;
pub mod tagger;

use omnisonic_platform::OutboundClient;

/// Insight's services in the [`crate::Context`]. Cheap to clone.
#[derive(Clone)]
pub struct Insight {
    /// The guarded client every outbound request goes through.
    pub outbound: OutboundClient,
    /// The tagger over the current catalogue.
    pub tagger: tagger::TaggerCache,
    /// Polling settings.
    pub feeds: feeds::FeedSettings,
}
