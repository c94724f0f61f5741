//! Periodic upkeep, run as [`MaintenanceJob`]s that the scheduler ([`crate::schedule`]) enqueues once per period:
//! the cleanup of uploads nobody uses, the expiry of licenses whose end has passed, and the sweep of expired
//! sign-in sessions. Each task is also a plain function the CLI calls (`omnisonic uploads cleanup`,
//! `omnisonic licenses expire`).

use crate::jobs::{self, JobKind};
use crate::{AppError, Context};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnisonic_platform::{AfterSettle, ClaimedJob, JobError, JobHandler, PubSub, Storage};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::uploads as store;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Upkeep jobs, one queue for all tasks.
pub struct MaintenanceJob;

/// What an upkeep job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Delete uploads no session has used for [`ORPHAN_AGE`]; abort direct uploads abandoned for [`ABANDONED_AGE`].
    UploadCleanup,
    /// Mark active licenses whose end has passed as expired, and tell each work's subscribers.
    LicenseExpiry,
    /// Delete expired sign-in sessions and email tokens (they are refused anyway; this keeps the tables small).
    SessionSweep,
    /// Poll the feed sources that are due (Insight).
    FeedPoll,
}

impl Task {
    /// Every task.
    pub const ALL: [Self; 4] = [Self::UploadCleanup, Self::LicenseExpiry, Self::SessionSweep, Self::FeedPoll];

    /// Its stable name (schedules, logs, metrics).
    pub fn name(self) -> &'static str {
        match self {
            Self::UploadCleanup => "upload_cleanup",
            Self::LicenseExpiry => "license_expiry",
            Self::SessionSweep => "session_sweep",
            Self::FeedPoll => "feed_poll",
        }
    }
}

/// An upkeep job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MaintenancePayload {
    /// What to do.
    pub task: Task,
    /// The schedule's period it was enqueued for (periods since the epoch), for the logs.
    pub period: i64,
}

impl JobKind for MaintenanceJob {
    const QUEUE: &'static str = "maintenance";
    type Payload = MaintenancePayload;
}

/// Uploads not attached to any studio session are deleted after this long (spec 1.2: 30 days).
pub const ORPHAN_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A browser-direct upload not completed within this long is abandoned: its multipart upload is aborted.
pub const ABANDONED_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a cleanup did (or, on a dry run, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanupReport {
    /// Uploads removed (or to remove).
    pub uploads: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Uploads whose object could not be deleted (kept, retried next time).
    pub failed: u64,
    /// Abandoned direct uploads aborted (or to abort).
    pub aborted: u64,
}

impl std::fmt::Display for CleanupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} uploads, {} bytes; {} abandoned multipart uploads", self.uploads, self.bytes, self.aborted)?;
        if self.failed > 0 {
            write!(f, " ({} could not be deleted and stay for the next run)", self.failed)?;
        }
        Ok(())
    }
}

/// Deletes (object first, then row) every upload no session uses that is older than `older_than`. With
/// `dry_run`, only reports.
pub async fn cleanup_uploads(
    db: &DatabaseConnection,
    storage: &Storage,
    older_than: Duration,
    dry_run: bool,
) -> Result<CleanupReport, AppError> {
    let cutoff = Utc::now() - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
    let mut report = CleanupReport::default();
    for upload in store::orphaned_uploads(db, cutoff).await? {
        if !dry_run {
            if let Err(err) = storage.delete(&upload.storage_key).await {
                tracing::warn!(upload_id = %upload.id, error = %err, "cleanup could not delete an object");
                report.failed += 1;
                continue;
            }
            store::delete_upload(db, upload.id).await?;
        }
        report.uploads += 1;
        report.bytes += u64::try_from(upload.file_size).unwrap_or(0);
    }
    let abandoned_cutoff = Utc::now() - chrono::Duration::from_std(ABANDONED_AGE).unwrap_or(chrono::Duration::MAX);
    for upload in store::abandoned_uploads(db, abandoned_cutoff).await? {
        if !dry_run {
            // Abort the parts, and delete the object too: a completion that got as far as assembling it but no
            // further leaves one behind.
            let aborted = match &upload.multipart_id {
                Some(multipart_id) => storage.abort_direct(&upload.storage_key, multipart_id).await,
                None => Ok(()),
            };
            if let Err(err) = aborted.and(storage.delete(&upload.storage_key).await) {
                tracing::warn!(upload_id = %upload.id, error = %err, "cleanup could not abort a multipart upload");
                report.failed += 1;
                continue;
            }
            store::delete_upload(db, upload.id).await?;
        }
        report.aborted += 1;
    }
    Ok(report)
}

/// Expires every active license whose end has passed at `now`, and tells each work's subscribers. Returns how
/// many. Several nodes may run it at once: a license is only ever expired once.
pub async fn expire_licenses(db: &DatabaseConnection, pubsub: &PubSub, now: DateTime<Utc>) -> Result<usize, AppError> {
    let expired = omnisonic_store::licenses::expire_due(db, now).await?;
    for row in &expired {
        crate::events::catalogue::publish_row(pubsub, &[omnisonic_domain::channels::license_work(row.work_id)], row)
            .await;
    }
    Ok(expired.len())
}

/// Runs one upkeep task now.
#[tracing::instrument(skip(ctx), fields(task = task.name()))]
pub async fn run_task(ctx: &Context, task: Task) -> Result<(), AppError> {
    match task {
        Task::UploadCleanup => {
            let report = cleanup_uploads(&ctx.db, &ctx.storage, ORPHAN_AGE, false).await?;
            if report != CleanupReport::default() {
                tracing::info!(%report, "unused uploads cleaned up");
            }
        }
        Task::LicenseExpiry => match expire_licenses(&ctx.db, &ctx.pubsub, ctx.clock.now()).await? {
            0 => {}
            n => tracing::info!(expired = n, "licenses expired"),
        },
        Task::SessionSweep => match omnisonic_store::auth::delete_expired(&ctx.db).await? {
            0 => {}
            n => tracing::info!(rows = n, "expired sign-in sessions and tokens deleted"),
        },
        Task::FeedPoll => {
            let reports = crate::insight::feeds::poll_due(ctx).await?;
            let stored: usize = reports.iter().map(|r| r.ingest.stored.len()).sum();
            let failed = reports.iter().filter(|r| r.error.is_some()).count();
            if !reports.is_empty() {
                tracing::info!(sources = reports.len(), stored, failed, "feeds polled");
            }
        }
    }
    Ok(())
}

/// Runs [`MaintenanceJob`]s.
pub struct MaintenanceHandler {
    /// The services the tasks use.
    pub ctx: Context,
}

#[async_trait]
impl JobHandler for MaintenanceHandler {
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError> {
        let payload = jobs::payload::<MaintenanceJob>(job)?;
        run_task(&self.ctx, payload.task)
            .await
            .map(|()| AfterSettle::nothing())
            .map_err(|err| JobError::retry(payload.task.name(), err))
    }

    async fn gave_up(&self, job: &ClaimedJob, error: &str) -> AfterSettle {
        // Nothing waits on upkeep: the log says it, and the next period runs it again.
        tracing::error!(job_id = %job.id, error, "an upkeep task failed for good");
        AfterSettle::nothing()
    }
}
