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

use crate::jobs::JobKind;
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
