//! Omnisonic's platform services: each has an embedded implementation (no configuration, one process) and a
//! distributed one (a real server), chosen by the binary from settings: mail, object storage, pub/sub and the
//! job queue (whose database implementation lives in the binary, beside the SQL it needs); the guarded client
//! for outbound HTTP (`outbound`), a Redis cache of expiring values (`cache`), Standard Webhooks signatures
//! (`webhook`) and Slack's webhook answers (`slack`).

pub mod cache;
pub mod mail;
pub mod outbound;
pub mod pubsub;
pub mod queue;
pub mod rate_limit;
pub mod slack;
pub mod storage;
pub mod webhook;

pub use cache::{CacheError, ExpiringCache};
pub use mail::{MailError, Mailer};
pub use outbound::{AddressGuard, OutboundClient, OutboundError, OutboundSettings};
pub use pubsub::{PubSub, PubSubError, Subscription};
pub use queue::{
    AfterSettle, BoxError, ClaimedJob, JobCounts, JobError, JobHandler, JobInfo, JobQueue, JobState, QueueError,
    RedisQueue, RetryPolicy, WorkerConfig,
};
pub use rate_limit::{RateLimitError, RateLimiter};
pub use storage::{Storage, StorageConfig, StorageError, Stored};

/// Installs ring as the process's TLS crypto provider (idempotent). reqwest is built without a default provider
/// (its default, aws-lc, needs cmake and a longer C build); every HTTP client in the process — sign-in
/// providers, S3 — needs one installed before it is built.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
