//! Bulk ISRC import (spec 2.3): the worker that runs [`BulkImportJob`]s, the pipeline it shares with
//! `omnisonic import FILE`, the job's progress as every side shows it, and the findings report.
//!
//! A job is idempotent, because the queue delivers at least once: a finished job is not run again, and a
//! running one resumes from the batch receipts its earlier attempts left ([`pipeline`]). Progress goes to the
//! job's row a few times a second and out over pub/sub on `bulk_import:<id>`, where the job page listens.

pub mod pipeline;
pub mod progress;
pub mod report;
pub mod worker;

use crate::jobs::{self, JobKind};
use crate::{AppError, Context};
use omnisonic_store::bulk_imports::{self as store, NewJob};
use omnisonic_store::entities::bulk_import_job::Model as Job;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bulk import jobs: one per `bulk_import_jobs` row.
pub struct BulkImportJob;

/// A bulk import job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkImportPayload {
    /// The `bulk_import_jobs` row.
    pub job_id: Uuid,
}

impl JobKind for BulkImportJob {
    const QUEUE: &'static str = "bulk_imports";
    type Payload = BulkImportPayload;
}

/// Records an import of a file already in storage (`new.file_key`) and queues it. When the row cannot be
/// written the file is deleted (nothing would ever read it); when the queue is down the row is marked failed with
/// the reason (a pending row without a job would wait for ever).
#[tracing::instrument(skip_all, fields(job_id = %new.id))]
pub async fn queue_import(ctx: &Context, new: &NewJob) -> Result<Job, AppError> {
    let job = match store::create_job(&ctx.db, new).await {
        Ok(job) => job,
        Err(err) => {
            let _ = ctx.storage.delete(&new.file_key).await;
            return Err(err.into());
        }
    };
    if let Err(err) = jobs::enqueue::<BulkImportJob>(&*ctx.queue, &BulkImportPayload { job_id: job.id }).await {
        store::fail(&ctx.db, job.id, "the job could not be queued; upload the file again").await?;
        return Err(AppError::Unavailable { what: "the job queue".to_owned(), source: Box::new(err) });
    }
    tracing::info!(size = job.file_size, format = %job.format, "bulk import queued");
    Ok(job)
}
