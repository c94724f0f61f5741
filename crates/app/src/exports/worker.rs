//! The export worker: mixes a studio session down to a file (spec 1.3) as an [`ExportJob`].
//!
//! Idempotent, because the queue delivers at least once:
//! - a finished export (completed or failed) is never processed again;
//! - local scratch files live in `<data dir>/tmp/exports/<export id>/`, wiped at the start of every attempt;
//! - the file is written to a temporary key that is the same on every attempt, then moved to its final key
//!   (also fixed per export): a retried job overwrites, it never leaves a second file.
//!
//! Decoding and encoding run on a blocking thread (`spawn_blocking`), so the async threads stay free for the
//! lease heartbeats and for the progress updates, which go to the `exports` row and out over pub/sub on the
//! session's channel (`session:<id>`) for the realtime gateway.

use super::{ExportJob, ExportPayload};
use crate::events::{ExportCompleted, ExportFailed, ExportProgress, SessionEvent, publish_to_session};
use crate::jobs;
use async_trait::async_trait;
use omnisonic_domain::export::ExportFormat;
use omnisonic_mixdown::{ClipProtection, MixError, MixSettings, Mp3Bitrate, OutputFormat, TrackInput, WavBits};
use omnisonic_platform::{AfterSettle, ClaimedJob, JobError, JobHandler, PubSub, Storage};
use omnisonic_store::entities::export;
use omnisonic_store::{Db, exports as store};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Runs export jobs.
pub struct ExportHandler {
    /// The database.
    pub db: Db,
    /// Where uploads are read from and exports written to.
    pub storage: Storage,
    /// Progress goes out here.
    pub pubsub: PubSub,
    /// Scratch space (`<data dir>/tmp/exports`).
    pub scratch: PathBuf,
    /// `EXPORT_MAX_DURATION_SECONDS`: the longest mix, and the longest a job may run.
    pub max_duration: Duration,
}

/// The object key of an export's file, the same for every attempt.
pub fn export_key(export: &export::Model) -> String {
    format!("exports/{}/{}.{}", export.session_id, export.id, export.format)
}

/// The engine's output for an export's stored format.
fn output_format(export: &export::Model) -> Result<OutputFormat, JobError> {
    let format = ExportFormat::from_columns(&export.format, export.bit_depth, export.bitrate_kbps)
        .ok_or_else(|| JobError::Fail(format!("unknown export format {:?}", export.format)))?;
    Ok(match format {
        ExportFormat::Wav { bits: 24 } => OutputFormat::Wav { bits: WavBits::TwentyFour },
        ExportFormat::Wav { .. } => OutputFormat::Wav { bits: WavBits::Sixteen },
        ExportFormat::Flac => OutputFormat::Flac,
        ExportFormat::Mp3 { kbps: 192 } => OutputFormat::Mp3 { bitrate: Mp3Bitrate::Kbps192 },
        ExportFormat::Mp3 { .. } => OutputFormat::Mp3 { bitrate: Mp3Bitrate::Kbps320 },
    })
}

fn retry(context: &str, err: impl std::error::Error + Send + Sync + 'static) -> JobError {
    JobError::retry(context, err)
}

impl ExportHandler {
    async fn publish(&self, session_id: Uuid, event: SessionEvent) {
        publish_to_session(&self.pubsub, session_id, &event).await;
    }

    async fn export(&self, job: &ExportPayload) -> Result<AfterSettle, JobError> {
        // The time limit counts from the start of the attempt: fetching the tracks is part of the job.
        let deadline = Instant::now() + self.max_duration;
        let export = match store::get_export(&self.db, job.export_id).await {
            Ok(export) => export,
            // Deleted with its session: nothing to do.
            Err(omnisonic_store::StoreError::NotFound { .. }) => return Ok(AfterSettle::nothing()),
            Err(err) => return Err(retry("load the export", err)),
        };
        if !store::start_processing(&self.db, export.id).await.map_err(|e| retry("start the export", e))? {
            tracing::info!(export_id = %export.id, "export already finished; nothing to do");
            return Ok(AfterSettle::nothing());
        }
        self.publish(export.session_id, progress(&export, 0)).await;
        let format = output_format(&export)?;
        let session = omnisonic_store::studio::get_session(&self.db, export.session_id)
            .await
            .map_err(|e| retry("load the session", e))?;
        let tracks = omnisonic_store::studio::list_tracks(&self.db, session.id)
            .await
            .map_err(|e| retry("load the tracks", e))?;

        let dir = self.scratch.join(export.id.to_string());
        let _ = tokio::fs::remove_dir_all(&dir).await;
        tokio::fs::create_dir_all(&dir).await.map_err(|e| retry("create the scratch folder", e))?;
        let _cleanup = RemoveOnDrop(dir.clone());

        // Fetch each track's upload once (several tracks may play streams of the same stem file).
        let mut inputs = Vec::new();
        for track in tracks.iter().filter(|t| t.upload_id.is_some()) {
            let Some(upload_id) = track.upload_id else { continue };
            let local = dir.join(upload_id.to_string());
            if !tokio::fs::try_exists(&local).await.unwrap_or(false) {
                let upload = omnisonic_store::uploads::get_upload(&self.db, upload_id)
                    .await
                    .map_err(|e| retry("load an upload", e))?;
                self.storage
                    .download_to_file(&upload.storage_key, &local)
                    .await
                    .map_err(|e| retry(&format!("fetch the audio of track {:?}", track.name), e))?;
            }
            inputs.push(TrackInput {
                name: track.name.clone(),
                path: local,
                stream: track.stream_index.and_then(|i| usize::try_from(i).ok()),
                gain_db: track.gain_db,
                pan: track.pan,
                mute: track.mute,
                solo: track.solo,
                start_offset_frames: u64::try_from(track.start_offset_samples).unwrap_or(0),
            });
        }
        if inputs.is_empty() {
            return Err(JobError::Fail("the session has no tracks with audio to mix".to_owned()));
        }
        let sample_rate = u32::try_from(session.sample_rate).unwrap_or(44_100);
        let settings = MixSettings {
            sample_rate,
            clip: ClipProtection::Limiter,
            max_frames: Some(self.max_duration.as_secs().saturating_mul(u64::from(sample_rate))),
            ..MixSettings::default()
        };
        let output = dir.join(format!("mix.{}", export.format));
        let (progress_tx, mut progress_rx) = tokio::sync::watch::channel(0u8);
        let cancel = Arc::new(AtomicBool::new(false));
        // Dropping the job (lease lost, shutdown) stops the mix at its next block.
        let _stop = CancelOnDrop(cancel.clone());
        let mixing = {
            let (output, cancel) = (output.clone(), cancel.clone());
            tokio::task::spawn_blocking(move || -> Result<omnisonic_mixdown::MixReport, MixError> {
                let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&output)?);
                let report = omnisonic_mixdown::mix(&settings, &inputs, format, &mut file, &mut |p| {
                    if cancel.load(Ordering::Relaxed) || Instant::now() > deadline {
                        return ControlFlow::Break(());
                    }
                    progress_tx.send_if_modified(|last| {
                        // 99 at most until the file is stored: 100 means "ready to download".
                        let percent = p.percent().min(99);
                        let changed = *last != percent;
                        *last = percent;
                        changed
                    });
                    ControlFlow::Continue(())
                })?;
                std::io::Write::flush(&mut file)?;
                Ok(report)
            })
        };
        tokio::pin!(mixing);
        // The mix checks the deadline and the cancel flag between blocks; this also stops waiting for a mix that
        // reports no block at all (a decoder stuck inside one packet), so the job ends on time either way.
        let overdue = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::pin!(overdue);
        let report = loop {
            tokio::select! {
                finished = &mut mixing => break finished,
                // Returning drops `_stop`, which tells the mix to stop at its next block.
                () = &mut overdue => {
                    return Err(JobError::Fail(format!(
                        "the export ran longer than {} seconds (EXPORT_MAX_DURATION_SECONDS) and was stopped",
                        self.max_duration.as_secs()
                    )));
                }
                changed = progress_rx.changed() => {
                    if changed.is_err() {
                        continue;
                    }
                    let percent = *progress_rx.borrow_and_update();
                    if let Err(err) = store::set_progress(&self.db, export.id, i32::from(percent)).await {
                        tracing::warn!(error = ?err, "could not record export progress");
                    }
                    self.publish(export.session_id, progress(&export, percent)).await;
                }
            }
        };
        let report = match report {
            Err(join) => return Err(retry("the mix thread", join)),
            Ok(Err(MixError::Cancelled)) if Instant::now() > deadline => {
                return Err(JobError::Fail(format!(
                    "the export ran longer than {} seconds (EXPORT_MAX_DURATION_SECONDS) and was stopped",
                    self.max_duration.as_secs()
                )));
            }
            Ok(Err(MixError::TooLong { .. })) => {
                return Err(JobError::Fail(format!(
                    "the mix is longer than {} seconds (EXPORT_MAX_DURATION_SECONDS)",
                    self.max_duration.as_secs()
                )));
            }
            Ok(Err(err)) if err.is_input_error() => return Err(JobError::Fail(err.to_string())),
            Ok(Err(err)) => return Err(retry("mix", err)),
            Ok(Ok(report)) => report,
        };

        let key = export_key(&export);
        let staging = format!("exports/tmp/{}.{}", export.id, export.format);
        let stored = self.storage.upload_file(&staging, &output).await.map_err(|e| retry("store the file", e))?;
        self.storage.rename(&staging, &key).await.map_err(|e| retry("move the file into place", e))?;
        let size = i64::try_from(stored.size).unwrap_or(i64::MAX);
        if !store::complete_export(&self.db, export.id, &key, size).await.map_err(|e| retry("record completion", e))? {
            return Ok(AfterSettle::nothing());
        }
        tracing::info!(
            export_id = %export.id,
            frames = report.frames,
            bytes = stored.size,
            tracks = report.tracks_mixed,
            "export completed"
        );
        let completed = SessionEvent::ExportCompleted(ExportCompleted {
            export_id: export.id,
            session_id: export.session_id,
            format: export.format.clone(),
            file_size: stored.size,
            progress: 100,
            download_url: format!("/api/export/{}/download", export.id),
        });
        let pubsub = self.pubsub.clone();
        Ok(AfterSettle::then(crate::trace::carry(async move {
            publish_to_session(&pubsub, export.session_id, &completed).await
        })))
    }
}

fn progress(export: &export::Model, percent: u8) -> SessionEvent {
    SessionEvent::ExportProgress(ExportProgress {
        export_id: export.id,
        session_id: export.session_id,
        progress: percent,
        status: "processing",
    })
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[async_trait]
impl JobHandler for ExportHandler {
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError> {
        let payload = jobs::payload::<ExportJob>(job)?;
        jobs::as_part_of_request(job, self.export(&payload)).await
    }

    async fn gave_up(&self, job: &ClaimedJob, error: &str) -> AfterSettle {
        let Ok(payload) = jobs::payload::<ExportJob>(job) else { return AfterSettle::nothing() };
        match store::fail_export(&self.db, payload.export_id, error).await {
            Ok(true) => match store::get_export(&self.db, payload.export_id).await {
                Ok(export) => {
                    let failed = SessionEvent::ExportFailed(ExportFailed {
                        export_id: export.id,
                        session_id: export.session_id,
                        error: error.to_owned(),
                    });
                    let pubsub = self.pubsub.clone();
                    let announce = async move { publish_to_session(&pubsub, export.session_id, &failed).await };
                    AfterSettle::then(crate::trace::with_optional_request_id(jobs::request_id(job), announce))
                }
                Err(_) => AfterSettle::nothing(),
            },
            Ok(false) => AfterSettle::nothing(),
            Err(err) => {
                tracing::error!(error = ?err, export_id = %payload.export_id, "could not record a failed export");
                AfterSettle::nothing()
            }
        }
    }
}
