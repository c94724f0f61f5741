//! Change events: what mutations publish after their write commits, and what subscriptions listen to.
//!
//! Channels are the spec's (`work:{id}`, `recording:{id}`, `ledger:cycle:{id}`, `checkpoint:{id}`) plus
//! `license:work:{id}`; a subscription without a cycle id listens on the `*` channel, which every ledger event is
//! also published to. A message is the changed row as JSON, so a node can hand it to ten thousand subscribers
//! without asking the database again.

use futures::{Stream, StreamExt};
use omnisonic_platform::PubSub;
use serde::{Serialize, de::DeserializeOwned};
use std::sync::Arc;
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

/// Publishes `row` on each channel. Called only after the write has committed; a failure is logged, never the
/// caller's error — the write stands, and subscribers that miss an event see the change on their next read.
pub async fn publish<T: Serialize>(pubsub: &PubSub, channels: &[String], row: &T) {
    let message = match serde_json::to_string(row) {
        Ok(message) => message,
        Err(err) => {
            tracing::error!(error = %err, "could not serialise a change event");
            return;
        }
    };
    for channel in channels {
        if let Err(err) = pubsub.publish(channel, &message).await {
            tracing::warn!(error = %err, %channel, "could not publish a change event");
        }
    }
}

/// The rows published on `channel` from now on. Subscribing is confirmed (on Redis, acknowledged by the server)
/// before this returns, so a write made after it is never missed.
pub async fn listen<T: DeserializeOwned + Send + 'static>(
    pubsub: &PubSub,
    channel: &str,
) -> Result<impl Stream<Item = T> + Send + 'static + use<T>, omnisonic_platform::PubSubError> {
    let subscription = pubsub.subscribe_confirmed(channel).await?;
    let messages = futures::stream::unfold(subscription, |mut sub| async move {
        let message: Arc<str> = sub.recv().await?;
        Some((message, sub))
    });
    Ok(messages.filter_map(|message| async move {
        if &*message == omnisonic_platform::pubsub::PROBE {
            return None;
        }
        serde_json::from_str::<T>(&message)
            .map_err(|err| tracing::warn!(error = %err, "ignoring a malformed change event"))
            .ok()
    }))
}
