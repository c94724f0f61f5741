//! Catalogue and rights change events published outside GraphQL (by workers and the CLI): the changed row as
//! JSON on the channels the GraphQL subscriptions listen to (`omnisonic_domain::channels`), the same message a
//! mutation publishes.

use omnisonic_platform::PubSub;
use serde::Serialize;

/// Publishes `row` on each channel, after its write has committed. A failure is logged, never the caller's
/// error: the write stands, and subscribers that miss an event see the change on their next read.
pub async fn publish_row<T: Serialize>(pubsub: &PubSub, channels: &[String], row: &T) {
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
