//! Checking uploaded audio when it becomes a track: which streams it has, whether we can decode them, how long
//! they are. Refusing an undecodable file here, with the reason, beats a failed export later; and the lengths
//! let an export too long for `EXPORT_MAX_DURATION_SECONDS` be refused before it is queued.

use crate::AppState;
use omnisonic_domain::studio::{MAX_NAME_CHARS, TrackInput};
use omnisonic_mixdown::StreamInfo;
use omnisonic_store::entities::upload;
use omnisonic_store::studio::TrackSource;
use uuid::Uuid;

/// Why an upload cannot become a track.
#[derive(Debug)]
pub enum ProbeFailure {
    /// The file is not audio we can mix; the reason is for the user.
    NotAudio(String),
    /// Storage or the local disk failed.
    Internal(String),
}

/// Fetches the upload into scratch space and lists its decodable audio streams (at least one, or `NotAudio`).
pub async fn probe_upload(state: &AppState, upload: &upload::Model) -> Result<Vec<StreamInfo>, ProbeFailure> {
    if upload.status != omnisonic_store::uploads::COMPLETE {
        return Err(ProbeFailure::NotAudio("it is still uploading".to_owned()));
    }
    if !upload.mime_type.starts_with("audio/") && !upload.mime_type.starts_with("video/") {
        return Err(ProbeFailure::NotAudio(format!("it is {}, not audio", upload.mime_type)));
    }
    let dir = &state.background.scratch;
    tokio::fs::create_dir_all(dir).await.map_err(|e| ProbeFailure::Internal(format!("scratch folder: {e}")))?;
    let path = dir.join(Uuid::now_v7().to_string());
    let fetched = state.storage.download_to_file(&upload.storage_key, &path).await;
    let probed = match fetched {
        Ok(_) => {
            let probe_path = path.clone();
            tokio::task::spawn_blocking(move || omnisonic_mixdown::probe(&probe_path))
                .await
                .map_err(|e| ProbeFailure::Internal(e.to_string()))
        }
        Err(err) => Err(ProbeFailure::Internal(format!("fetch the upload: {err}"))),
    };
    let _ = tokio::fs::remove_file(&path).await;
    let info = match probed? {
        Ok(info) => info,
        Err(err) if err.is_input_error() => return Err(ProbeFailure::NotAudio(reason(&err))),
        Err(err) => return Err(ProbeFailure::Internal(err.to_string())),
    };
    let streams: Vec<StreamInfo> =
        info.streams.iter().filter(|s| s.decodable && s.unplayable().is_none()).cloned().collect();
    if streams.is_empty() {
        return Err(ProbeFailure::NotAudio(match info.streams.first() {
            Some(stream) if stream.decodable => stream.unplayable().unwrap_or_else(|| "it cannot be mixed".to_owned()),
            Some(stream) => format!(
                "its audio is {}, which cannot be mixed (WAV, AIFF, FLAC, MP3, AAC and Ogg Vorbis can)",
                stream.codec
            ),
            None => "it has no audio stream".to_owned(),
        }));
    }
    Ok(streams)
}

/// The error's text without the file-name prefix the probe puts in front (the user knows which file it was).
fn reason(err: &omnisonic_mixdown::MixError) -> String {
    let text = err.to_string();
    match text.split_once("\": ") {
        Some((_, rest)) => rest.to_owned(),
        None => text,
    }
}

/// A track to add for an upload.
pub struct PlannedTrack {
    /// Its settings.
    pub input: TrackInput,
    /// Its audio.
    pub source: TrackSource,
}

/// One track per audio stream. A file with five streams is taken for a Native Instruments Stems file (stream 1
/// is the full mix, streams 2–5 the stems): every stream becomes a track, the full mix muted, so the stems sound
/// once and the mix is one click away.
pub fn tracks_for(input: &TrackInput, upload: &upload::Model, streams: &[StreamInfo]) -> Vec<PlannedTrack> {
    let stems_file = streams.len() == 5;
    streams
        .iter()
        .map(|stream| {
            let duration_ms = match (stream.frames, stream.sample_rate) {
                (Some(frames), Some(rate)) if rate > 0 => {
                    i64::try_from(frames.saturating_mul(1000) / u64::from(rate)).ok()
                }
                _ => None,
            };
            let mut track = input.clone();
            if streams.len() > 1 {
                let label = match (stems_file, stream.index) {
                    (true, 0) => "mix".to_owned(),
                    _ => format!("stream {}", stream.index + 1),
                };
                let suffix = format!(" · {label}");
                let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
                track.name = format!("{}{suffix}", input.name.chars().take(room).collect::<String>());
                if stems_file && stream.index == 0 {
                    track.mute = true;
                }
            }
            PlannedTrack {
                input: track,
                source: TrackSource {
                    upload_id: upload.id,
                    stream_index: i32::try_from(stream.index).ok(),
                    duration_ms,
                },
            }
        })
        .collect()
}
