//! Omnisonic's news documents: what arrives from feeds and integrations, before it is stored.
//!
//! A pure library — no async, no network, no database — so every parser of outside input here can be fuzzed
//! on its own. [`parse::decode`] finds a body's character set and decodes it; [`parse::parse_feed`] reads RSS
//! 0.9x/1.0/2.0, Atom or JSON Feed into [`IncomingItem`]s; [`content`] turns their HTML into plain text and
//! sanitised HTML, links into canonical links, and text into the keys duplicates are found by.

pub mod content;
pub mod parse;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An item as it arrives: from a feed entry, or pushed as JSON to `POST /ingest/news`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncomingItem {
    /// The item's id in its feed (RSS `guid`, Atom `id`); optional for pushed items.
    #[serde(default)]
    pub guid: Option<String>,
    /// Link to the article (absolute http or https).
    #[serde(default)]
    pub url: Option<String>,
    /// Headline (plain text or HTML), required.
    pub title: String,
    /// Summary or content, HTML or plain text.
    #[serde(default)]
    pub summary: String,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Publication time (RFC 3339).
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    /// Language (BCP 47), if known.
    #[serde(default)]
    pub language: Option<String>,
}
