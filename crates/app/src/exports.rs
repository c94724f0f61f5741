//! Mixdown exports (spec 1.3): asking for one ([`request_export`]) and making it ([`worker`]).

pub mod worker;

use crate::events::{self, ExportProgress, SessionEvent};
use crate::jobs::{self, JobKind};
use crate::{AppError, Context};
use omnisonic_domain::export::{ExportFormat, MixChannel, sounding};
use omnisonic_store::entities::{export, studio_session, track};
use omnisonic_store::exports as store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Export jobs: one per `exports` row.
pub struct ExportJob;

/// An export job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportPayload {
    /// The `exports` row to fill.
    pub export_id: Uuid,
}

impl JobKind for ExportJob {
    const QUEUE: &'static str = "exports";
    type Payload = ExportPayload;
}

/// A stored track as the mute/solo rule sees it.
struct Stored<'a>(&'a track::Model);

impl MixChannel for Stored<'_> {
    fn has_audio(&self) -> bool {
        self.0.upload_id.is_some()
    }
    fn muted(&self) -> bool {
        self.0.mute
    }
    fn soloed(&self) -> bool {
        self.0.solo
    }
}

/// How long the mix of these tracks will be, in seconds, from the lengths probed when they were added (mute and
/// solo respected); `None` when a sounding track's length is unknown (the worker then enforces the limit).
pub fn mix_seconds(tracks: &[track::Model], sample_rate: i32) -> Option<f64> {
    let stored: Vec<Stored<'_>> = tracks.iter().map(Stored).collect();
    let mut longest: f64 = 0.0;
    for Stored(t) in sounding(&stored) {
        let length = t.duration_ms? as f64 / 1000.0;
        let offset = t.start_offset_samples as f64 / f64::from(sample_rate.max(1));
        longest = longest.max(offset + length);
    }
    Some(longest)
}

/// Validates and records an export of `session` by `user_id`, then enqueues it and tells the session's room.
///
/// Refused (nothing written) when `user_id` is not the owner, when no unmuted track has audio, or when the
/// probed lengths already say the mix would be longer than `EXPORT_MAX_DURATION_SECONDS`. When the queue is
/// down the row is marked failed with the reason (a pending row without a job would wait for ever).
#[tracing::instrument(skip_all, fields(session_id = %session.id, format = format.extension()))]
pub async fn request_export(
    ctx: &Context,
    user_id: Uuid,
    session: &studio_session::Model,
    format: ExportFormat,
) -> Result<export::Model, AppError> {
    if !crate::access::is_owner(session, user_id) {
        tracing::info!(%user_id, session_id = %session.id, "export of another user's session refused");
        return Err(AppError::Forbidden("only the session's owner can export it".to_owned()));
    }
    let tracks = omnisonic_store::studio::list_tracks(&ctx.db, session.id).await?;
    if !tracks.iter().any(|t| t.upload_id.is_some() && !t.mute) {
        return Err(AppError::invalid("sessionId", "the session has no unmuted tracks with audio to mix"));
    }
    let limit = ctx.limits.export_max_duration.as_secs();
    if let Some(seconds) = mix_seconds(&tracks, session.sample_rate)
        && seconds > limit as f64
    {
        return Err(AppError::invalid(
            "sessionId",
            format!(
                "the mix would be {seconds:.1} seconds long; exports are limited to {limit} seconds \
                 (EXPORT_MAX_DURATION_SECONDS)"
            ),
        ));
    }
    let (name, bit_depth, bitrate) = format.columns();
    let row = store::create_export(&ctx.db, session.id, user_id, name, bit_depth, bitrate).await?;
    if let Err(err) = jobs::enqueue::<ExportJob>(&*ctx.queue, &ExportPayload { export_id: row.id }).await {
        // Without a job the row would stay pending for ever: record why instead.
        let _ = store::fail_export(&ctx.db, row.id, "the export could not be queued; try again").await;
        return Err(AppError::Unavailable { what: "the job queue".to_owned(), source: Box::new(err) });
    }
    tracing::info!(export_id = %row.id, "export queued");
    let queued = ExportProgress { export_id: row.id, session_id: session.id, progress: 0, status: "pending" };
    events::publish_to_session(&ctx.pubsub, session.id, &SessionEvent::ExportProgress(queued)).await;
    Ok(row)
}
