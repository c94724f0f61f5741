//! The embedded job queue: [`omnisonic_platform::JobQueue`] over the `jobs` table of our own database (SQLite by
//! default, PostgreSQL when `DATABASE_URL` says so). It lives here rather than in the platform crate because the
//! platform knows nothing of our tables; the SQL itself is in `omnisonic_store::jobs`.

use async_trait::async_trait;
use omnisonic_platform::{ClaimedJob, JobCounts, JobInfo, JobQueue, JobState, QueueError};
use omnisonic_store::{DatabaseConnection, StoreError, jobs};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The job queue in the database.
#[derive(Clone)]
pub struct DatabaseQueue {
    db: DatabaseConnection,
    /// Wakes this process's workers when it enqueues (other processes find the job at their next poll).
    enqueued: Arc<Notify>,
}

impl DatabaseQueue {
    /// A queue over `db` (migrated).
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, enqueued: Arc::new(Notify::new()) }
    }
}

fn backend(err: StoreError) -> QueueError {
    QueueError::Backend(Box::new(err))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl JobQueue for DatabaseQueue {
    async fn enqueue(&self, queue: &str, payload: &str) -> Result<String, QueueError> {
        let id = uuid::Uuid::now_v7().to_string();
        jobs::enqueue(&self.db, &id, queue, payload, now_ms()).await.map_err(backend)?;
        self.enqueued.notify_waiters();
        Ok(id)
    }

    async fn claim(&self, queue: &str, lease: Duration) -> Result<Option<ClaimedJob>, QueueError> {
        let token = uuid::Uuid::now_v7().simple().to_string();
        let now = now_ms();
        let row = jobs::claim(&self.db, queue, now, now.saturating_add(ms(lease)), &token).await.map_err(backend)?;
        Ok(row.map(|row| ClaimedJob {
            id: row.id,
            queue: queue.to_owned(),
            payload: row.payload,
            attempt: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            token,
        }))
    }

    async fn extend(&self, job: &ClaimedJob, lease: Duration) -> Result<bool, QueueError> {
        jobs::extend(&self.db, &job.id, &job.token, now_ms().saturating_add(ms(lease))).await.map_err(backend)
    }

    async fn complete(&self, job: &ClaimedJob) -> Result<(), QueueError> {
        jobs::complete(&self.db, &job.id, &job.token).await.map_err(backend).map(drop)
    }

    async fn retry(&self, job: &ClaimedJob, delay: Duration, error: &str) -> Result<(), QueueError> {
        jobs::retry(&self.db, &job.id, &job.token, now_ms().saturating_add(ms(delay)), error)
            .await
            .map_err(backend)
            .map(drop)
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<(), QueueError> {
        jobs::bury(&self.db, &job.id, &job.token, error).await.map_err(backend).map(drop)
    }

    async fn wait_for_work(&self, _queue: &str, max: Duration) {
        let _ = tokio::time::timeout(max, self.enqueued.notified()).await;
    }

    async fn inspect(&self, queue: &str, limit: usize) -> Result<Vec<JobInfo>, QueueError> {
        let now = now_ms();
        let rows = jobs::list(&self.db, queue, u64::try_from(limit).unwrap_or(u64::MAX)).await.map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let state = match (row.dead, row.lease_until_ms, &row.last_error) {
                    (true, _, _) => JobState::Buried,
                    (false, Some(until), _) if until >= now => JobState::Running,
                    (false, _, Some(_)) => JobState::Failed,
                    _ => JobState::Queued,
                };
                JobInfo {
                    id: row.id,
                    queue: queue.to_owned(),
                    state,
                    attempts: u32::try_from(row.attempts).unwrap_or(0),
                    last_error: row.last_error,
                    payload: row.payload,
                }
            })
            .collect())
    }

    async fn counts(&self, queue: &str) -> Result<JobCounts, QueueError> {
        let [queued, running, failed, buried] = jobs::state_counts(&self.db, queue, now_ms())
            .await
            .map_err(backend)?
            .map(|n| u64::try_from(n).unwrap_or(0));
        Ok(JobCounts { queued, running, failed, buried })
    }

    async fn revive(&self, queue: &str, id: &str) -> Result<bool, QueueError> {
        let revived = jobs::revive(&self.db, queue, id, now_ms()).await.map_err(backend)?;
        if revived {
            self.enqueued.notify_waiters();
        }
        Ok(revived)
    }

    fn describe(&self) -> &'static str {
        "database"
    }
}
