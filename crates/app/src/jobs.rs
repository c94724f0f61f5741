//! Typed jobs: a [`JobKind`] names its queue and its payload type once, so the side that enqueues and the worker
//! that handles cannot disagree on either.

use omnisonic_platform::{ClaimedJob, JobError, JobQueue, QueueError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A kind of background job.
pub trait JobKind {
    /// The queue its jobs go to.
    const QUEUE: &'static str;
    /// What a job carries (JSON on the queue).
    type Payload: Serialize + DeserializeOwned + Send + Sync;
}

/// Enqueues a job of kind `K`; returns its id.
pub async fn enqueue<K: JobKind>(queue: &dyn JobQueue, payload: &K::Payload) -> Result<String, QueueError> {
    let json = serde_json::to_string(payload).map_err(|e| QueueError::Backend(Box::new(e)))?;
    queue.enqueue(K::QUEUE, &json).await
}

/// A claimed job's payload, read as kind `K`; an unreadable one fails for good (retrying cannot fix it).
pub fn payload<K: JobKind>(job: &ClaimedJob) -> Result<K::Payload, JobError> {
    serde_json::from_str(&job.payload).map_err(|e| JobError::Fail(format!("unreadable {} job payload: {e}", K::QUEUE)))
}
