//! Typed jobs: a [`JobKind`] names its queue and its payload type once, so the side that enqueues and the worker
//! that handles cannot disagree on either.

use omnisonic_platform::{ClaimedJob, JobError, JobQueue, QueueError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Every queue, for operators (`omnisonic jobs`) and `/metrics`.
pub const QUEUES: [&str; 4] = [
    crate::exports::ExportJob::QUEUE,
    crate::bulk_import::BulkImportJob::QUEUE,
    crate::maintenance::MaintenanceJob::QUEUE,
    crate::insight::retag::RetagJob::QUEUE,
];

/// A kind of background job.
pub trait JobKind {
    /// The queue its jobs go to.
    const QUEUE: &'static str;
    /// What a job carries (JSON on the queue).
    type Payload: Serialize + DeserializeOwned + Send + Sync;
}

/// A job on the queue: its payload's fields, plus the id of the request that enqueued it (when one did).
#[derive(Serialize, Deserialize)]
struct Envelope<P> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(flatten)]
    payload: P,
}

/// Enqueues a job of kind `K`, with the current request id (see [`crate::trace`]); returns its id.
pub async fn enqueue<K: JobKind>(queue: &dyn JobQueue, payload: &K::Payload) -> Result<String, QueueError> {
    let envelope = Envelope { request_id: crate::trace::request_id(), payload };
    let json = serde_json::to_string(&envelope).map_err(|e| QueueError::Backend(Box::new(e)))?;
    queue.enqueue(K::QUEUE, &json).await
}

/// A claimed job's payload, read as kind `K`; an unreadable one fails for good (retrying cannot fix it).
pub fn payload<K: JobKind>(job: &ClaimedJob) -> Result<K::Payload, JobError> {
    serde_json::from_str::<Envelope<K::Payload>>(&job.payload)
        .map(|envelope| envelope.payload)
        .map_err(|e| JobError::Fail(format!("unreadable {} job payload: {e}", K::QUEUE)))
}

/// The id of the request that enqueued `job`, if one did.
pub fn request_id(job: &ClaimedJob) -> Option<String> {
    #[derive(Deserialize)]
    struct Only {
        request_id: Option<String>,
    }
    serde_json::from_str::<Only>(&job.payload).ok().and_then(|only| only.request_id)
}

/// Runs a job's work as part of the request that enqueued it: the request id is current (so events carry it)
/// and on the job's log lines.
pub async fn as_part_of_request<F: std::future::Future>(job: &ClaimedJob, work: F) -> F::Output {
    use tracing::Instrument;
    let id = request_id(job);
    let span = tracing::info_span!("job_work", request_id = id.as_deref().unwrap_or("-"));
    crate::trace::with_optional_request_id(id, work.instrument(span)).await
}
