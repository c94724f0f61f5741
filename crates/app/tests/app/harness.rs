//! Both databases for one test: a temporary SQLite file, and a fresh PostgreSQL database dropped afterwards.

use omnisonic_app::Context;
use omnisonic_app::queue::DatabaseQueue;
use omnisonic_platform::{ClaimedJob, JobCounts, JobInfo, JobQueue, QueueError};
use omnisonic_store::DatabaseConnection;
use sea_orm::ConnectionTrait;
use std::sync::Arc;
use std::time::Duration;

/// A migrated database and what keeps it alive.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The connection.
    pub db: DatabaseConnection,
    _dir: tempfile::TempDir,
    drop_after: Option<(String, String)>,
}

impl TestDb {
    /// Drops the PostgreSQL database (SQLite's file goes with its folder).
    pub async fn close(self) {
        let Self { db, drop_after, .. } = self;
        let _ = db.close().await;
        if let Some((admin_url, name)) = drop_after
            && let Ok(admin) = omnisonic_store::connect(&admin_url, 1).await
        {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// SQLite always; PostgreSQL when `OMNISONIC_TEST_DATABASE_URL` is set.
pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let db = omnisonic_store::connect(&url, 5).await.expect("SQLite");
    omnisonic_store::migrate(&db).await.expect("migrate SQLite");
    let mut all = vec![TestDb { name: "sqlite", db, _dir: dir, drop_after: None }];
    match std::env::var("OMNISONIC_TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let admin = omnisonic_store::connect(&admin_url, 1).await.expect("PostgreSQL");
            let name = format!("omnisonic_app_{}", uuid::Uuid::now_v7().simple());
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
            let _ = admin.close().await;
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            let db = omnisonic_store::connect(&format!("{base}/{name}"), 5).await.expect("connect");
            omnisonic_store::migrate(&db).await.expect("migrate PostgreSQL");
            let dir = tempfile::tempdir().expect("temp dir");
            all.push(TestDb { name: "postgres", db, _dir: dir, drop_after: Some((admin_url, name)) });
        }
        Err(_) if std::env::var("OMNISONIC_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("OMNISONIC_TEST_DATABASE_URL is not set and OMNISONIC_REQUIRE_SERVICES=1")
        }
        Err(_) => eprintln!("OMNISONIC_TEST_DATABASE_URL not set: PostgreSQL skipped"),
    }
    all
}

/// A context over `db`: local storage in a temp folder, in-process pub/sub, the database queue.
pub fn context(db: &DatabaseConnection, storage_root: &std::path::Path) -> Context {
    let config = omnisonic_platform::StorageConfig::Local { root: storage_root.to_path_buf() };
    Context {
        db: db.clone(),
        storage: omnisonic_platform::Storage::new(&config, b"test secret, 32 bytes or longer..").expect("storage"),
        pubsub: omnisonic_platform::PubSub::in_process(),
        queue: Arc::new(DatabaseQueue::new(db.clone())),
        rate_limiter: omnisonic_platform::RateLimiter::in_process(),
        limits: omnisonic_app::context::Limits { export_max_duration: Duration::from_secs(60) },
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
