//! The names of pub/sub channels, in one place for every side that publishes or listens: the GraphQL
//! subscriptions, the realtime gateway, the workers and the CLI.
//!
//! Channels are the spec's (`work:{id}`, `recording:{id}`, `ledger:cycle:{id}`, `checkpoint:{id}`) plus
//! `license:work:{id}`, a studio session's room (`session:{id}`) and a bulk import's progress
//! (`bulk_import:{id}`). A ledger subscription without a cycle listens on the `*` channel, which every ledger
//! event is also published to.

use uuid::Uuid;

/// The channel of one work's changes.
pub fn work(id: Uuid) -> String {
    format!("work:{id}")
}

/// The channel of one recording's changes.
pub fn recording(id: Uuid) -> String {
    format!("recording:{id}")
}

/// The channel of one cycle's new entries; `None` is every cycle's.
pub fn ledger_cycle(id: Option<Uuid>) -> String {
    id.map_or_else(|| "ledger:cycle:*".to_owned(), |id| format!("ledger:cycle:{id}"))
}

/// The channel of one cycle's checkpoint; `None` is every cycle's.
pub fn checkpoint(id: Option<Uuid>) -> String {
    id.map_or_else(|| "checkpoint:*".to_owned(), |id| format!("checkpoint:{id}"))
}

/// The channel of one work's license changes.
pub fn license_work(id: Uuid) -> String {
    format!("license:work:{id}")
}

/// A studio session's room (realtime events of the session and its exports).
pub fn session(id: Uuid) -> String {
    format!("session:{id}")
}

/// A bulk import's progress.
pub fn bulk_import(id: Uuid) -> String {
    format!("bulk_import:{id}")
}

/// Every newly tagged news item (Insight): one message per item with its tags.
pub const NEWS_TAGGED: &str = "news:tagged";

/// A re-tagging run's progress.
pub fn tagging_run(id: Uuid) -> String {
    format!("tagging:run:{id}")
}
