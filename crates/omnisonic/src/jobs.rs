//! Background jobs of `serve`, also runnable from the shell: the daily cleanup of uploads nobody uses.

use omnisonic_platform::Storage;
use omnisonic_store::DatabaseConnection;
use omnisonic_store::uploads as store;
use std::time::Duration;

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
) -> anyhow::Result<CleanupReport> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(older_than)?;
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
    let abandoned_cutoff = chrono::Utc::now() - chrono::Duration::from_std(ABANDONED_AGE)?;
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

/// Runs the cleanup once a day for as long as the server runs.
pub async fn daily_cleanup(db: DatabaseConnection, storage: Storage) {
    let mut every = tokio::time::interval(Duration::from_secs(24 * 3600));
    loop {
        every.tick().await;
        match cleanup_uploads(&db, &storage, ORPHAN_AGE, false).await {
            Ok(report) if report.uploads == 0 && report.failed == 0 && report.aborted == 0 => {}
            Ok(report) => tracing::info!(%report, "unused uploads cleaned up"),
            Err(err) => tracing::warn!(error = ?err, "upload cleanup failed"),
        }
    }
}
