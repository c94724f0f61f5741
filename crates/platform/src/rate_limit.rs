//! Counting limits over a sliding window ("at most 5 bulk imports per user per hour"): in process, or in Redis so
//! that every node of a deployment shares one count.
//!
//! Both keep a log of the accepted events' times per key and drop those older than the window; a request is
//! accepted while the log holds fewer than `limit` entries. When it does not, the answer says how long until the
//! oldest entry leaves the window, which is what `Retry-After` tells the client.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What can go wrong asking the limiter.
#[derive(Debug, thiserror::Error)]
#[error("rate limiter: {0}")]
pub struct RateLimitError(String);

/// A sliding-window limiter.
#[derive(Clone)]
pub enum RateLimiter {
    /// This process only (the embedded default).
    InProcess(Arc<Mutex<HashMap<String, VecDeque<Instant>>>>),
    /// Shared through Redis (a sorted set per key, changed by one Lua script on the server's clock).
    Redis {
        /// The connection.
        connection: redis::aio::ConnectionManager,
        /// Key prefix (`REDIS_KEY_PREFIX`).
        prefix: String,
    },
}

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
";

impl RateLimiter {
    /// A limiter for this process.
    pub fn in_process() -> Self {
        Self::InProcess(Arc::default())
    }

    /// A limiter shared through the Redis at `url`; keys start with `prefix`.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, RateLimitError> {
        let client = redis::Client::open(url).map_err(|e| RateLimitError(e.to_string()))?;
        let connection = redis::aio::ConnectionManager::new(client).await.map_err(|e| RateLimitError(e.to_string()))?;
        Ok(Self::Redis { connection, prefix: prefix.to_owned() })
    }

    /// "in-process" or "redis".
    pub fn describe(&self) -> &'static str {
        match self {
            Self::InProcess(_) => "in-process",
            Self::Redis { .. } => "redis",
        }
    }

    /// Counts one event for `key` if fewer than `limit` were counted in the last `window`: `Ok(None)`; otherwise
    /// nothing is counted and the answer is how long until one more would be accepted.
    pub async fn acquire(&self, key: &str, limit: u32, window: Duration) -> Result<Option<Duration>, RateLimitError> {
        match self {
            Self::InProcess(logs) => {
                let now = Instant::now();
                let mut logs = logs.lock().unwrap_or_else(|e| e.into_inner());
                let log = logs.entry(key.to_owned()).or_default();
                while log.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    log.pop_front();
                }
                if log.len() < limit as usize {
                    log.push_back(now);
                    return Ok(None);
                }
                let oldest = log.front().copied().unwrap_or(now);
                Ok(Some(window.saturating_sub(now.duration_since(oldest)).max(Duration::from_millis(1))))
            }
            Self::Redis { connection, prefix } => {
                let mut connection = connection.clone();
                let wait_ms: i64 = redis::Script::new(SCRIPT)
                    .key(format!("{prefix}ratelimit:{key}"))
                    .arg(limit)
                    .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
                    .arg(uuid::Uuid::now_v7().to_string())
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|e| RateLimitError(e.to_string()))?;
                Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms as u64)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_window_counts_and_says_when() {
        let limiter = RateLimiter::in_process();
        let window = Duration::from_secs(3600);
        for _ in 0..5 {
            assert_eq!(limiter.acquire("u1", 5, window).await.expect("limiter"), None);
        }
        let wait = limiter.acquire("u1", 5, window).await.expect("limiter").expect("limited");
        assert!(wait > Duration::from_secs(3590) && wait <= window, "{wait:?}");
        assert_eq!(limiter.acquire("u2", 5, window).await.expect("limiter"), None, "keys are separate");
        let short = Duration::from_millis(50);
        assert_eq!(limiter.acquire("u3", 1, short).await.expect("limiter"), None);
        assert!(limiter.acquire("u3", 1, short).await.expect("limiter").is_some());
        tokio::time::sleep(short).await;
        assert_eq!(limiter.acquire("u3", 1, short).await.expect("limiter"), None, "the window slides");
    }
}
