//! A shared cache of byte values that expire, in Redis: derived data that is costly to compute and cheap to
//! lose (the tagger's entity vectors). Misses and Redis errors alike mean "compute it again".

use std::time::Duration;

use redis::AsyncCommands;

/// Why the cache could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cache: {0}")]
pub struct CacheError(String);

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

/// Values under `{prefix}cache:{key}`, each with its own lifetime. Cheap to clone.
#[derive(Clone)]
pub struct ExpiringCache {
    connection: redis::aio::ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for ExpiringCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiringCache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl ExpiringCache {
    /// A cache in the Redis at `url`; keys start with `prefix`.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let connection = redis::aio::ConnectionManager::new(client).await?;
        Ok(Self { connection, prefix: prefix.to_owned() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}cache:{key}", self.prefix)
    }

    /// The values of `keys`, in order (`None` where missing or expired).
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut connection = self.connection.clone();
        // Explicit MGET: redis-rs's `mget` helper sends GET for a single key, which answers a bare value.
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&keys).query_async(&mut connection).await?;
        Ok(values)
    }

    /// Stores `entries`, each expiring after `ttl`, in one round trip.
    pub async fn put_many(&self, entries: &[(String, Vec<u8>)], ttl: Duration) -> Result<(), CacheError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            pipe.set_ex(self.key(key), value.as_slice(), ttl.as_secs().max(1)).ignore();
        }
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection).await?;
        Ok(())
    }

    /// Seconds until `key` expires (`None` when it does not exist): for tests and operators.
    pub async fn ttl(&self, key: &str) -> Result<Option<u64>, CacheError> {
        let mut connection = self.connection.clone();
        let ttl: i64 = connection.ttl(self.key(key)).await?;
        Ok(u64::try_from(ttl).ok())
    }
}
