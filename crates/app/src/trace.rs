//! The request id that follows work across processes: set for the duration of an HTTP request (the web layer's
//! telemetry middleware), written into the jobs the request enqueues ([`crate::jobs::enqueue`]), set again while
//! a worker runs such a job, and carried into the events that job publishes (`requestId` on the message). So one
//! id follows an export from the request through the worker to the WebSocket, and every log line on the way.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` with `id` as the current request id.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// Runs `work` with `id` as the current request id when there is one.
pub async fn with_optional_request_id<F: Future>(id: Option<String>, work: F) -> F::Output {
    match id {
        Some(id) => REQUEST_ID.scope(id, work).await,
        None => work.await,
    }
}

/// The current request id, if the caller runs on behalf of one.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `work`, carrying the current request id with it: for work that runs later or elsewhere (an announcement
/// after a job is settled, a spawned task).
pub fn carry<F: Future + Send + 'static>(work: F) -> impl Future<Output = F::Output> + Send + 'static
where
    F::Output: Send,
{
    let id = request_id();
    async move { with_optional_request_id(id, work).await }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_scoped_and_carried() {
        assert_eq!(request_id(), None);
        // Made inside the request, run after it.
        let (tx, rx) = tokio::sync::oneshot::channel();
        with_request_id("r-1".to_owned(), async {
            let _ = tx.send(carry(async { request_id() }));
        })
        .await;
        let carried = rx.await.expect("sent");
        assert_eq!(with_request_id("r-1".to_owned(), async { request_id() }).await.as_deref(), Some("r-1"));
        assert_eq!(carried.await.as_deref(), Some("r-1"), "still the request's id when it runs later");
        assert_eq!(request_id(), None);
    }
}
