//! Re-tagging (`POST /ingest/tagging/improve`): a job that tags stored items again with the current tagger and
//! catalogue — all of them, a source's, or a date range — replacing each item's tags atomically. Running it
//! twice changes nothing the second time. Progress goes out on `tagging:run:{id}`.

use chrono::{DateTime, Utc};
use omnisonic_domain::channels;
use omnisonic_platform::{AfterSettle, ClaimedJob, JobError, JobHandler};
use omnisonic_store::news::{self, NewsFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ingest;
use crate::jobs::{self, JobKind};
use crate::{AppError, Context};

/// The re-tagging job kind.
pub struct RetagJob;

/// Which items a run re-tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RetagScope {
    /// Only this source's items.
    #[serde(default)]
    pub source_id: Option<Uuid>,
    /// Only items from this time on.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Only items before this time.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

/// A run's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetagPayload {
    /// The run's id (its progress channel).
    pub run_id: Uuid,
    /// What it covers.
    pub scope: RetagScope,
}

impl JobKind for RetagJob {
    const QUEUE: &'static str = "tagging";
    type Payload = RetagPayload;
}

/// A run's progress, as published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RetagProgress {
    /// The run.
    pub run_id: Uuid,
    /// `queued`, `running`, `completed` or `failed`.
    pub state: String,
    /// Items re-tagged so far.
    pub done: u64,
    /// Items the run covers.
    pub total: u64,
    /// Tags made so far.
    pub tags: u64,
}

/// Items re-tagged per page.
const PAGE: u64 = 200;

/// Queues a run over `scope`; returns its first progress document (state `queued`).
pub async fn start(ctx: &Context, scope: RetagScope) -> Result<RetagProgress, AppError> {
    if let (Some(from), Some(to)) = (scope.from, scope.to)
        && from >= to
    {
        return Err(AppError::invalid("to", "must be after from"));
    }
    if let Some(source) = scope.source_id {
        omnisonic_store::feeds::get_source(&ctx.db, source).await?;
    }
    let total = news::count_for_retag(&ctx.db, &filter(&scope)).await?;
    let run_id = Uuid::now_v7();
    jobs::enqueue::<RetagJob>(&*ctx.queue, &RetagPayload { run_id, scope })
        .await
        .map_err(|e| AppError::Unavailable { what: "the job queue".to_owned(), source: Box::new(e) })?;
    Ok(RetagProgress { run_id, state: "queued".to_owned(), done: 0, total, tags: 0 })
}

fn filter(scope: &RetagScope) -> NewsFilter {
    NewsFilter { source_id: scope.source_id, from: scope.from, to: scope.to, ..NewsFilter::default() }
}

/// Runs a re-tag to the end, publishing progress after each page.
pub async fn run(ctx: &Context, payload: &RetagPayload) -> Result<RetagProgress, AppError> {
    let filter = filter(&payload.scope);
    let total = news::count_for_retag(&ctx.db, &filter).await?;
    let tagger = ctx.insight.tagger.current(&ctx.db).await?;
    let mut progress = RetagProgress { run_id: payload.run_id, state: "running".to_owned(), done: 0, total, tags: 0 };
    publish(ctx, &progress).await;
    let mut after = None;
    loop {
        let page = news::items_for_retag(&ctx.db, &filter, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for item in &page {
            progress.tags += ingest::tag_and_store(ctx, &tagger, item).await? as u64;
            progress.done += 1;
        }
        progress.total = progress.total.max(progress.done);
        publish(ctx, &progress).await;
    }
    progress.state = "completed".to_owned();
    publish(ctx, &progress).await;
    Ok(progress)
}

async fn publish(ctx: &Context, progress: &RetagProgress) {
    let Ok(json) = serde_json::to_string(progress) else { return };
    if let Err(err) = ctx.pubsub.publish(&channels::tagging_run(progress.run_id), &json).await {
        tracing::warn!(error = &err as &dyn std::error::Error, "could not publish re-tag progress");
    }
}

/// The worker's handler for [`RetagJob`].
pub struct RetagHandler {
    /// The application context.
    pub ctx: Context,
}

#[async_trait::async_trait]
impl JobHandler for RetagHandler {
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError> {
        let payload = jobs::payload::<RetagJob>(job)?;
        run(&self.ctx, &payload).await.map(|_| AfterSettle::nothing()).map_err(|err| JobError::retry("re-tag", err))
    }

    async fn gave_up(&self, job: &ClaimedJob, error: &str) -> AfterSettle {
        // Tell whoever watches the run; items already re-tagged keep their new tags (each was replaced whole).
        if let Ok(payload) = jobs::payload::<RetagJob>(job) {
            let failed =
                RetagProgress { run_id: payload.run_id, state: "failed".to_owned(), done: 0, total: 0, tags: 0 };
            publish(&self.ctx, &failed).await;
        }
        tracing::error!(job_id = %job.id, error, "a re-tag run failed for good");
        AfterSettle::nothing()
    }
}
