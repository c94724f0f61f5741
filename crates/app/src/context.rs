//! The services every use-case may need, built once by the binary and shared by every transport.

use chrono::{DateTime, Utc};
use omnisonic_platform::{JobQueue, Mailer, PubSub, RateLimiter, Storage};
use omnisonic_store::Db;
use std::sync::Arc;
use std::time::Duration;

/// Handles to the database, storage, pub/sub, the job queue, the rate limiter, the mailer, the clock and the
/// limits use-cases enforce. Cheap to clone.
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
    /// Outgoing mail (SMTP, or the outbox folder).
    pub mailer: Mailer,
    /// What time it is (fixed in tests of time-dependent work).
    pub clock: Clock,
    /// Limits use-cases enforce.
    pub limits: Limits,
    /// Insight: the outbound client, the tagger, feed settings.
    pub insight: crate::insight::Insight,
}

/// Limits from settings that use-cases enforce.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `EXPORT_MAX_DURATION_SECONDS`: longer mixes are refused when asked for, and stopped by the worker.
    pub export_max_duration: Duration,
}

/// What time it is: the system clock, or a fixed instant for tests of time-dependent work (schedules, expiry).
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self { fixed: Some(at) }
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(Utc::now)
    }
}
