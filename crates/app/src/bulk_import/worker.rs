//! The bulk import worker: runs [`BulkImportJob`]s, saving and publishing progress as it goes.

use super::pipeline::{self, ImportError, Progress, Tuning};
use super::progress::publish;
use super::{BulkImportJob, BulkImportPayload};
use crate::jobs;
use async_trait::async_trait;
use futures::TryStreamExt;
use omnisonic_domain::bulk_import::Format;
use omnisonic_platform::{AfterSettle, ClaimedJob, JobError, JobHandler, PubSub, Storage};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::bulk_imports::{self as store, Status, Totals};
use omnisonic_store::entities::bulk_import_job::Model as Job;
use std::time::{Duration, Instant};

/// How often running counts are saved and published.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Runs bulk import jobs.
pub struct BulkImportHandler {
    /// The database.
    pub db: omnisonic_store::Db,
    /// Where uploaded files are.
    pub storage: Storage,
    /// Progress goes out here.
    pub pubsub: PubSub,
    /// Batches in flight and validators.
    pub tuning: Tuning,
}

fn retry(context: &str, err: impl std::error::Error + Send + Sync + 'static) -> JobError {
    JobError::retry(context, err)
}

/// Runs `job` over `input` to the end: saves progress as it goes, then marks it completed (with exact totals)
/// or failed. `on_progress` sees every batch (the command line's progress bar).
pub async fn run_job(
    db: &DatabaseConnection,
    pubsub: Option<&PubSub>,
    job: &Job,
    input: Box<dyn std::io::Read + Send>,
    tuning: Tuning,
    mut on_progress: impl FnMut(Progress) + Send,
) -> Result<Job, ImportError> {
    let format = Format::parse(&job.format).unwrap_or(Format::Csv);
    let tuning = Tuning { batch_size: usize::try_from(job.batch_size).unwrap_or(100), ..tuning };
    let mut last_saved = Instant::now();
    let (saves_tx, mut saves_rx) = tokio::sync::mpsc::channel::<Totals>(1);
    // Saving and publishing run beside the pipeline, so a slow save never stalls the writers; only the latest
    // counts matter, so a save that finds the channel full is simply dropped.
    let saver = {
        let db = db.clone();
        let pubsub = pubsub.cloned();
        let job = job.clone();
        tokio::spawn(async move {
            while let Some(totals) = saves_rx.recv().await {
                if let Err(err) = store::save_progress(&db, job.id, &totals).await {
                    tracing::warn!(error = %err, "could not save bulk import progress");
                }
                if let Some(pubsub) = &pubsub {
                    publish(pubsub, &with_totals(&job, &totals)).await;
                }
            }
        })
    };
    let result = pipeline::run(db, job.id, format, input, tuning, |progress| {
        on_progress(progress);
        if last_saved.elapsed() >= PROGRESS_EVERY {
            last_saved = Instant::now();
            let _ = saves_tx.try_send(progress.totals);
        }
    })
    .await;
    drop(saves_tx);
    let _ = saver.await;
    let finished = match result {
        Ok(_) => {
            // The receipts are the truth: their sums include any batch another attempt wrote meanwhile.
            let (_, totals) = store::committed(db, job.id).await?;
            store::complete(db, job.id, &totals).await?
        }
        Err(ImportError::Unusable(reason)) => {
            store::fail(db, job.id, &reason).await?;
            store::get_job(db, job.id).await?.unwrap_or_else(|| job.clone())
        }
        Err(other) => return Err(other),
    };
    if let Some(pubsub) = pubsub {
        publish(pubsub, &finished).await;
    }
    Ok(finished)
}

fn with_totals(job: &Job, totals: &Totals) -> Job {
    Job {
        processed_records: totals.processed,
        accepted_records: totals.accepted,
        rejected_records: totals.rejected,
        warning_records: totals.warnings,
        created_records: totals.created,
        updated_records: totals.updated,
        status: Status::Processing.as_str().to_owned(),
        ..job.clone()
    }
}

impl BulkImportHandler {
    async fn import(&self, payload: &BulkImportPayload) -> Result<(), JobError> {
        let job = match store::get_job(&self.db, payload.job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Ok(()),
            Err(err) => return Err(retry("load the job", err)),
        };
        if Status::is_finished(&job.status) {
            return Ok(());
        }
        let job = store::start(&self.db, job.id).await.map_err(|e| retry("start the job", e))?;
        publish(&self.pubsub, &job).await;
        let stream = self.storage.read(&job.file_key).await.map_err(|e| retry("open the file", e))?;
        let reader = tokio_util::io::StreamReader::new(stream.map_err(std::io::Error::other));
        let input: Box<dyn std::io::Read + Send> = Box::new(tokio_util::io::SyncIoBridge::new(reader));
        match run_job(&self.db, Some(&self.pubsub), &job, input, self.tuning, |_| {}).await {
            Ok(finished) => {
                tracing::info!(
                    job_id = %finished.id,
                    status = %finished.status,
                    accepted = finished.accepted_records,
                    rejected = finished.rejected_records,
                    "bulk import finished"
                );
                Ok(())
            }
            Err(ImportError::Unusable(reason)) => Err(JobError::Fail(reason)),
            Err(err) => Err(retry("import", err)),
        }
    }
}

#[async_trait]
impl JobHandler for BulkImportHandler {
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError> {
        self.import(&jobs::payload::<BulkImportJob>(job)?).await.map(AfterSettle::from)
    }

    async fn gave_up(&self, job: &ClaimedJob, error: &str) -> AfterSettle {
        let Ok(payload) = jobs::payload::<BulkImportJob>(job) else { return AfterSettle::nothing() };
        let reason = format!("the import stopped and was not retried again: {error}");
        if let Err(err) = store::fail(&self.db, payload.job_id, &reason).await {
            tracing::warn!(error = %err, "could not mark the bulk import failed");
        }
        match store::get_job(&self.db, payload.job_id).await {
            Ok(Some(row)) => {
                let pubsub = self.pubsub.clone();
                AfterSettle::then(async move { publish(&pubsub, &row).await })
            }
            _ => AfterSettle::nothing(),
        }
    }
}
