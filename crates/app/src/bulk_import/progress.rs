//! Where a bulk import stands, as every side shows it: the REST status, the job page, the progress messages on
//! the job's channel (`bulk_import:<id>`) and the server-sent events that forward them.

use omnisonic_platform::PubSub;
use omnisonic_store::bulk_imports::Status;
use omnisonic_store::entities::bulk_import_job::Model as Job;
use serde::Serialize;
use uuid::Uuid;

/// Where a job stands: what the status endpoint, the pub/sub messages and the job page share.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    /// Job id.
    pub id: Uuid,
    /// `pending`, `processing`, `completed` or `failed`.
    #[cfg_attr(feature = "openapi", schema(example = "processing"))]
    pub status: String,
    /// Records in the file: counted from its lines on upload, exact once completed.
    pub total_records: i64,
    /// Records read so far (accepted + rejected).
    pub processed_records: i64,
    /// Records written.
    pub accepted_records: i64,
    /// Records rejected (see the error report).
    pub rejected_records: i64,
    /// Records written with a warning (a later duplicate of an earlier ISRC replaced it).
    pub warning_records: i64,
    /// Recordings created.
    pub created_records: i64,
    /// Existing recordings changed; accepted rows that match what is stored change nothing.
    pub updated_records: i64,
    /// 0–100.
    pub percent: u8,
    /// Why it failed.
    pub failure: Option<String>,
}

impl From<&Job> for JobProgress {
    fn from(job: &Job) -> Self {
        let percent = if job.status == Status::Completed.as_str() {
            100
        } else if job.total_records > 0 {
            (job.processed_records.saturating_mul(100) / job.total_records).clamp(0, 99) as u8
        } else {
            0
        };
        Self {
            id: job.id,
            status: job.status.clone(),
            total_records: job.total_records,
            processed_records: job.processed_records,
            accepted_records: job.accepted_records,
            rejected_records: job.rejected_records,
            warning_records: job.warning_records,
            created_records: job.created_records,
            updated_records: job.updated_records,
            percent,
            failure: job.failure.clone(),
        }
    }
}

/// The message published on a job's channel (and sent as server-sent events): its [`JobProgress`] as JSON.
pub fn progress_message(job: &Job) -> String {
    serde_json::to_string(&JobProgress::from(job)).unwrap_or_default()
}

/// Publishes the job's state on its channel; a failure is logged, never the import's problem.
pub async fn publish(pubsub: &PubSub, job: &Job) {
    let message = progress_message(job);
    if let Err(err) = pubsub.publish(&omnisonic_domain::channels::bulk_import(job.id), &message).await {
        tracing::debug!(error = %err, "could not publish bulk import progress");
    }
}
