//! Publish/subscribe between the parts of Omnisonic: in-process broadcast (embedded default) or Redis pub/sub
//! (`REDIS_URL`), so that a worker in one process reaches the WebSocket clients of another.
//!
//! Delivery is at most once, as with Redis itself: a subscriber that lags or a node that is reconnecting misses
//! messages. Anything that must not be lost lives in a table; pub/sub only says "look again" or carries progress.
//!
//! Each process keeps one Redis connection for all its subscriptions and fans messages out to local
//! subscribers, so ten thousand sockets watching one channel cost Redis one subscription.

use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Messages a slow local subscriber may fall behind by before it starts missing them.
const LOCAL_BUFFER: usize = 256;

/// What can go wrong with pub/sub.
#[derive(Debug, thiserror::Error)]
pub enum PubSubError {
    /// Redis refused or failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>;

/// A pub/sub hub; cheap to clone.
#[derive(Clone)]
pub struct PubSub {
    channels: Channels,
    redis: Option<Arc<RedisLink>>,
    /// Put before every channel name (`REDIS_KEY_PREFIX`), so deployments sharing one Redis never hear each other.
    prefix: Arc<str>,
}

struct RedisLink {
    publisher: redis::aio::ConnectionManager,
    /// Sends (un)subscribe requests to the task that owns the subscriber connection.
    control: tokio::sync::mpsc::UnboundedSender<Control>,
}

enum Control {
    Subscribe(String),
    Unsubscribe(String),
}

impl std::fmt::Debug for PubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// A live subscription to one channel; dropping it unsubscribes.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<str>>,
    channel: String,
    hub: PubSub,
}

impl Subscription {
    /// The next message, or `None` when the hub is gone. A subscriber that fell more than a buffer behind skips
    /// to the oldest message still held (and the skip is logged).
    pub async fn recv(&mut self) -> Option<Arc<str>> {
        loop {
            match self.receiver.recv().await {
                Ok(message) => return Some(message),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(channel = %self.channel, missed, "a slow subscriber missed messages");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The channel this subscription listens to (with the hub's prefix).
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.release(&self.channel);
    }
}

impl PubSub {
    /// An in-process hub: messages reach subscribers of this process only.
    pub fn in_process() -> Self {
        Self { channels: Arc::default(), redis: None, prefix: Arc::from("") }
    }

    /// A hub over Redis at `url`: messages reach subscribers in every process on that Redis.
    pub async fn redis(url: &str) -> Result<Self, PubSubError> {
        Self::redis_with_prefix(url, "").await
    }

    /// Like [`PubSub::redis`], with every channel name prefixed by `prefix` on the Redis server: hubs with
    /// different prefixes on one Redis are separate.
    pub async fn redis_with_prefix(url: &str, prefix: &str) -> Result<Self, PubSubError> {
        let client = redis::Client::open(url)?;
        let publisher = redis::aio::ConnectionManager::new(client.clone()).await?;
        // Connect the subscriber once now, so a wrong URL fails at start-up rather than in the background.
        let first = client.get_async_pubsub().await?;
        let channels: Channels = Arc::default();
        let (control, requests) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(subscriber_task(client, first, requests, channels.clone()));
        Ok(Self { channels, redis: Some(Arc::new(RedisLink { publisher, control })), prefix: Arc::from(prefix) })
    }

    /// "in-process" or "redis".
    pub fn describe(&self) -> &'static str {
        if self.redis.is_some() { "redis" } else { "in-process" }
    }

    /// Publishes `message` on `channel`. With no subscriber anywhere the message is dropped.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), PubSubError> {
        let channel = &self.full_name(channel);
        match &self.redis {
            Some(link) => {
                let mut connection = link.publisher.clone();
                let _: i64 = redis::cmd("PUBLISH").arg(channel).arg(message).query_async(&mut connection).await?;
            }
            None => {
                let sender = lock(&self.channels).get(channel).cloned();
                if let Some(sender) = sender {
                    let _ = sender.send(Arc::from(message));
                }
            }
        }
        Ok(())
    }

    /// Subscribes to `channel`. Messages published after this returns are delivered (on Redis, after the server
    /// has confirmed the subscription, which [`PubSub::subscribe_confirmed`] waits for).
    pub fn subscribe(&self, channel: &str) -> Subscription {
        let channel = &self.full_name(channel);
        let mut channels = lock(&self.channels);
        let receiver = match channels.get(channel) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(LOCAL_BUFFER);
                channels.insert(channel.to_owned(), sender);
                if let Some(link) = &self.redis {
                    let _ = link.control.send(Control::Subscribe(channel.to_owned()));
                }
                receiver
            }
        };
        Subscription { receiver, channel: channel.to_owned(), hub: self.clone() }
    }

    /// Subscribes and, on Redis, waits (up to 5 s) until a message published now would reach it: it publishes a
    /// probe on the channel until the probe comes back. Tests and handshakes that must not miss the first
    /// message use this; the probe message is `{"type":"pubsub.probe"}`, which receivers ignore.
    pub async fn subscribe_confirmed(&self, channel: &str) -> Result<Subscription, PubSubError> {
        let mut subscription = self.subscribe(channel);
        if self.redis.is_none() {
            return Ok(subscription);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            self.publish(channel, PROBE).await?;
            if let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(100), subscription.recv()).await
                && &*message == PROBE
            {
                return Ok(subscription);
            }
        }
        Ok(subscription)
    }

    /// The channel's name on the server: the prefix, then the name.
    fn full_name(&self, channel: &str) -> String {
        format!("{}{channel}", self.prefix)
    }

    /// Drops the channel when its last local subscriber is gone (`channel` is the full name).
    fn release(&self, channel: &str) {
        let mut channels = lock(&self.channels);
        // The dropping subscription's receiver is still counted while `drop` runs.
        if channels.get(channel).is_some_and(|sender| sender.receiver_count() <= 1) {
            channels.remove(channel);
            if let Some(link) = &self.redis {
                let _ = link.control.send(Control::Unsubscribe(channel.to_owned()));
            }
        }
    }

    /// How many channels this process listens to (for metrics and tests).
    pub fn channel_count(&self) -> usize {
        lock(&self.channels).len()
    }
}

/// The probe [`PubSub::subscribe_confirmed`] publishes; receivers skip it.
pub const PROBE: &str = r#"{"type":"pubsub.probe"}"#;

fn lock(channels: &Channels) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<str>>>> {
    // A panic while holding this lock cannot leave the map inconsistent (each operation is one insert/remove).
    channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Owns the subscriber connection: applies (un)subscribe requests, fans messages out, and reconnects (with
/// back-off, re-subscribing every channel) when the connection drops.
async fn subscriber_task(
    client: redis::Client,
    first: redis::aio::PubSub,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<Control>,
    channels: Channels,
) {
    let mut next = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let connection = match next.take() {
            Some(connection) => connection,
            None => match client.get_async_pubsub().await {
                Ok(connection) => connection,
                Err(err) => {
                    tracing::warn!(error = %err, "redis pub/sub: reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        let (mut sink, mut stream) = connection.split();
        let wanted: Vec<String> = lock(&channels).keys().cloned().collect();
        if !wanted.is_empty()
            && let Err(err) = sink.subscribe(&wanted).await
        {
            tracing::warn!(error = %err, "redis pub/sub: could not re-subscribe");
            continue;
        }
        backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    None => return, // the hub is gone
                    Some(Control::Subscribe(channel)) => {
                        if let Err(err) = sink.subscribe(&channel).await {
                            tracing::warn!(error = %err, channel, "redis pub/sub: subscribe failed");
                            break;
                        }
                    }
                    Some(Control::Unsubscribe(channel)) => {
                        // Re-check: someone may have subscribed again since the request was sent.
                        if !lock(&channels).contains_key(&channel)
                            && let Err(err) = sink.unsubscribe(&channel).await
                        {
                            tracing::warn!(error = %err, channel, "redis pub/sub: unsubscribe failed");
                            break;
                        }
                    }
                },
                message = stream.next() => match message {
                    None => {
                        tracing::warn!("redis pub/sub: connection closed");
                        break;
                    }
                    Some(message) => {
                        let channel = message.get_channel_name().to_owned();
                        let Ok(payload) = message.get_payload::<String>() else { continue };
                        let sender = lock(&channels).get(&channel).cloned();
                        if let Some(sender) = sender {
                            let _ = sender.send(Arc::from(payload));
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_delivers_to_every_subscriber_of_the_channel_only() {
        let hub = PubSub::in_process();
        let mut a = hub.subscribe("session:1");
        let mut b = hub.subscribe("session:1");
        let mut other = hub.subscribe("session:2");
        hub.publish("session:1", "hello").await.expect("publish");
        assert_eq!(a.recv().await.as_deref(), Some("hello"));
        assert_eq!(b.recv().await.as_deref(), Some("hello"));
        assert!(tokio::time::timeout(Duration::from_millis(50), other.recv()).await.is_err());
    }

    #[tokio::test]
    async fn the_last_subscriber_leaving_drops_the_channel() {
        let hub = PubSub::in_process();
        let a = hub.subscribe("c");
        let b = hub.subscribe("c");
        assert_eq!(hub.channel_count(), 1);
        drop(a);
        assert_eq!(hub.channel_count(), 1);
        drop(b);
        assert_eq!(hub.channel_count(), 0);
    }
}
