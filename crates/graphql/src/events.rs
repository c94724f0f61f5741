//! Change events: what mutations publish after their write commits, and what subscriptions listen to.
//!
//! Channels are named in `omnisonic_domain::channels`. A message is the changed row as JSON, so a node can hand it to ten thousand subscribers
//! without asking the database again.
//!
//! The bus itself is behind [`EventBus`]: this crate knows no transport (the web crate plugs in the platform's
//! in-process or Redis pub/sub).

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use std::sync::Arc;

/// Where change events travel: publish to a channel, and listen to one.
pub trait EventBus: Send + Sync {
    /// Publishes `message` on `channel`.
    fn publish<'a>(&'a self, channel: &'a str, message: &'a str) -> BoxFuture<'a, Result<(), String>>;
    /// The messages published on `channel` from when this resolves on (the subscription is confirmed first).
    fn listen<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, Arc<str>>, String>>;
}

/// The schema's event bus; cheap to clone.
#[derive(Clone)]
pub struct Events(pub Arc<dyn EventBus>);

pub use omnisonic_domain::channels::{checkpoint, ledger_cycle, license_work, recording, work};

/// Publishes `row` on each channel. Called only after the write has committed; a failure is logged, never the
/// caller's error — the write stands, and subscribers that miss an event see the change on their next read.
pub async fn publish<T: Serialize>(events: &Events, channels: &[String], row: &T) {
    let message = match serde_json::to_string(row) {
        Ok(message) => message,
        Err(err) => {
            tracing::error!(error = %err, "could not serialise a change event");
            return;
        }
    };
    for channel in channels {
        if let Err(err) = events.0.publish(channel, &message).await {
            tracing::warn!(error = %err, %channel, "could not publish a change event");
        }
    }
}

/// The rows published on `channel` from now on. Subscribing is confirmed (on Redis, acknowledged by the server)
/// before this returns, so a write made after it is never missed.
pub async fn listen<T: DeserializeOwned + Send + 'static>(
    events: &Events,
    channel: &str,
) -> Result<impl Stream<Item = T> + Send + 'static + use<T>, String> {
    let messages = events.0.listen(channel).await?;
    Ok(messages.filter_map(|message| async move {
        serde_json::from_str::<T>(&message)
            .map_err(|err| tracing::warn!(error = %err, "ignoring a malformed change event"))
            .ok()
    }))
}
