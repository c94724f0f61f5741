//! The services every use-case may need, built once by the binary and shared by every transport.

use omnisonic_platform::{JobQueue, PubSub, RateLimiter, Storage};
use omnisonic_store::Db;
use std::sync::Arc;
use std::time::Duration;

/// Handles to the database, storage, pub/sub, the job queue and the limits use-cases enforce. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    /// The database pool.
    pub db: Db,
    /// Object storage (uploads, exports, import files).
    pub storage: Storage,
    /// Events to other processes and to WebSocket clients (in-process, or Redis across nodes).
    pub pubsub: PubSub,
    /// Where background work is enqueued.
    pub queue: Arc<dyn JobQueue>,
    /// Counts requests against per-user limits (in process, or shared through Redis).
    pub rate_limiter: RateLimiter,
    /// Limits use-cases enforce.
    pub limits: Limits,
}

/// Limits from settings that use-cases enforce.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `EXPORT_MAX_DURATION_SECONDS`: longer mixes are refused when asked for, and stopped by the worker.
    pub export_max_duration: Duration,
}
