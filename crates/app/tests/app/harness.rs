//! What the application tests share: a context over one of the test databases (`omnisonic_testkit::databases`),
//! a user, and a queue that is down.

use omnisonic_app::Context;
use omnisonic_app::queue::DatabaseQueue;
use omnisonic_platform::{ClaimedJob, JobCounts, JobInfo, JobQueue, QueueError};
use omnisonic_store::DatabaseConnection;
pub use omnisonic_testkit::databases::databases;
use std::sync::Arc;
use std::time::Duration;

/// A context over `db`: local storage in a temp folder, in-process pub/sub, the database queue.
pub fn context(db: &DatabaseConnection, storage_root: &std::path::Path) -> Context {
    let config = omnisonic_platform::StorageConfig::Local { root: storage_root.to_path_buf() };
    Context {
        db: db.clone().into(),
        storage: omnisonic_platform::Storage::new(&config, b"test secret, 32 bytes or longer..").expect("storage"),
        pubsub: omnisonic_platform::PubSub::in_process(),
        queue: Arc::new(DatabaseQueue::new(db.clone())),
        rate_limiter: omnisonic_platform::RateLimiter::in_process(),
        mailer: omnisonic_platform::Mailer::outbox(storage_root.join("outbox"), "Omnisonic <test@example.test>")
            .expect("outbox"),
        clock: omnisonic_app::Clock::system(),
        limits: omnisonic_app::context::Limits { export_max_duration: Duration::from_secs(60) },
        insight: insight(),
    }
}

/// Insight's services for tests: outbound requests may reach loopback (the tests' feed servers), short
/// timeouts, a 1 MiB feed cap.
pub fn insight() -> omnisonic_app::insight::Insight {
    omnisonic_platform::install_tls_provider();
    let outbound = omnisonic_platform::OutboundClient::new(&omnisonic_platform::OutboundSettings {
        allow: omnisonic_platform::outbound::parse_allow_list("127.0.0.0/8, ::1").expect("allow list"),
        timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .expect("outbound client");
    omnisonic_app::insight::Insight {
        outbound,
        tagger: omnisonic_app::insight::tagger::TaggerCache::new(Default::default()),
        feeds: omnisonic_app::insight::feeds::FeedSettings { max_bytes: 1024 * 1024, ..Default::default() },
    }
}

/// A user, by email.
pub async fn user(db: &DatabaseConnection, email: &str) -> uuid::Uuid {
    let new = omnisonic_store::auth::NewUser { email: Some(email.to_owned()), ..Default::default() };
    omnisonic_store::auth::create_user(db, new).await.expect("user").id
}

/// A queue whose backend is down.
pub struct Down;

#[async_trait::async_trait]
impl JobQueue for Down {
    async fn enqueue(&self, _: &str, _: &str) -> Result<String, QueueError> {
        Err(QueueError::Backend("connection refused".into()))
    }
    async fn claim(&self, _: &str, _: Duration) -> Result<Option<ClaimedJob>, QueueError> {
        Ok(None)
    }
    async fn extend(&self, _: &ClaimedJob, _: Duration) -> Result<bool, QueueError> {
        Ok(false)
    }
    async fn complete(&self, _: &ClaimedJob) -> Result<(), QueueError> {
        Ok(())
    }
    async fn retry(&self, _: &ClaimedJob, _: Duration, _: &str) -> Result<(), QueueError> {
        Ok(())
    }
    async fn bury(&self, _: &ClaimedJob, _: &str) -> Result<(), QueueError> {
        Ok(())
    }
    async fn inspect(&self, _: &str, _: usize) -> Result<Vec<JobInfo>, QueueError> {
        Ok(Vec::new())
    }
    async fn counts(&self, _: &str) -> Result<JobCounts, QueueError> {
        Ok(JobCounts::default())
    }
    async fn revive(&self, _: &str, _: &str) -> Result<bool, QueueError> {
        Ok(false)
    }
    fn describe(&self) -> &'static str {
        "down"
    }
}
