//! Mixdown exports (spec 1.3): `POST /api/export` asks for one (the session's owner only), `GET /api/export/{id}`
//! reports status and progress, `GET /api/export/{id}/download` redirects to a short-lived download URL.
//!
//! Asking checks everything that can be checked before any work: the format, that the session has tracks with
//! audio, and that the mix is no longer than `EXPORT_MAX_DURATION_SECONDS` (from the track lengths probed when the
//! tracks were added). Then the `exports` row is written and the job enqueued; the worker does the rest.

use crate::auth::{ApiUser, SignedIn};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use omnisonic_store::entities::{export, studio_session, track};
use omnisonic_store::exports as store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The queue exports go to (the worker in the binary listens on it).
pub const QUEUE: &str = "exports";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/export", post(create))
        .route("/api/export/{id}", get(show))
        .route("/api/export/{id}/download", get(download))
}

/// Body of `POST /api/export`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    /// The studio session to mix.
    pub session_id: Uuid,
    /// `wav` (default), `flac` or `mp3`.
    #[serde(default)]
    pub format: Option<String>,
    /// WAV only: 16 (default, dithered) or 24.
    #[serde(default)]
    pub bit_depth: Option<i32>,
    /// MP3 only: 192 or 320 (default) kbit/s.
    #[serde(default)]
    pub bitrate: Option<i32>,
}

/// An export as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportView {
    /// Export id.
    pub id: Uuid,
    /// The studio session mixed.
    pub session_id: Uuid,
    /// `pending`, `processing`, `completed` or `failed`.
    pub status: String,
    /// `wav`, `flac` or `mp3`.
    pub format: String,
    /// WAV: bits per sample; FLAC: always 16.
    pub bit_depth: Option<i32>,
    /// MP3: kbit/s.
    pub bitrate: Option<i32>,
    /// 0–100.
    pub progress: i32,
    /// The download route once completed (it redirects to a short-lived URL).
    pub file_url: Option<String>,
    /// Size in bytes once completed.
    pub file_size: Option<i64>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// When it was asked for.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it completed.
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<export::Model> for ExportView {
    fn from(row: export::Model) -> Self {
        let file_url = (row.status == store::status::COMPLETED).then(|| format!("/api/export/{}/download", row.id));
        Self {
            id: row.id,
            session_id: row.session_id,
            status: row.status,
            format: row.format,
            bit_depth: row.bit_depth,
            bitrate: row.bitrate_kbps,
            progress: row.progress,
            file_url,
            file_size: row.file_size,
            error_message: row.error_message,
            created_at: row.created_at,
            completed_at: row.completed_at,
        }
    }
}

/// The validated choice of format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatChoice {
    /// `wav`, `flac` or `mp3`.
    pub format: &'static str,
    /// Bits per sample (WAV, FLAC).
    pub bit_depth: Option<i32>,
    /// MP3 bit rate.
    pub bitrate_kbps: Option<i32>,
}

/// Checks a format request: `wav` (16 or 24 bit), `flac` (16 bit) or `mp3` (192 or 320 kbit/s).
pub fn parse_format(
    format: Option<&str>,
    bit_depth: Option<i32>,
    bitrate: Option<i32>,
) -> Result<FormatChoice, ApiError> {
    let format = format.map(str::trim).filter(|f| !f.is_empty()).unwrap_or("wav").to_ascii_lowercase();
    match format.as_str() {
        "wav" => {
            if bitrate.is_some() {
                return Err(ApiError::invalid("bitrate", "applies to mp3 only"));
            }
            match bit_depth.unwrap_or(16) {
                depth @ (16 | 24) => Ok(FormatChoice { format: "wav", bit_depth: Some(depth), bitrate_kbps: None }),
                _ => Err(ApiError::invalid("bitDepth", "must be 16 or 24")),
            }
        }
        "flac" => {
            if bitrate.is_some() {
                return Err(ApiError::invalid("bitrate", "applies to mp3 only"));
            }
            // 16-bit, dithered: see crates/mixdown (the FLAC encoder cannot compress loud 24-bit mixes).
            match bit_depth.unwrap_or(16) {
                16 => Ok(FormatChoice { format: "flac", bit_depth: Some(16), bitrate_kbps: None }),
                _ => Err(ApiError::invalid("bitDepth", "FLAC exports are 16-bit")),
            }
        }
        "mp3" => {
            if bit_depth.is_some() {
                return Err(ApiError::invalid("bitDepth", "applies to wav and flac only"));
            }
            match bitrate.unwrap_or(320) {
                rate @ (192 | 320) => Ok(FormatChoice { format: "mp3", bit_depth: None, bitrate_kbps: Some(rate) }),
                _ => Err(ApiError::invalid("bitrate", "must be 192 or 320")),
            }
        }
        _ => Err(ApiError::invalid("format", "must be wav, flac or mp3")),
    }
}

/// How long the mix of these tracks will be, in seconds, from the lengths probed when they were added (mute and
/// solo respected); `None` when a sounding track's length is unknown (the worker then enforces the limit).
pub fn mix_seconds(tracks: &[track::Model], sample_rate: i32) -> Option<f64> {
    let any_solo = tracks.iter().any(|t| t.solo && !t.mute && t.upload_id.is_some());
    let mut longest: f64 = 0.0;
    for t in tracks.iter().filter(|t| t.upload_id.is_some() && !t.mute && (!any_solo || t.solo)) {
        let length = t.duration_ms? as f64 / 1000.0;
        let offset = t.start_offset_samples as f64 / f64::from(sample_rate.max(1));
        longest = longest.max(offset + length);
    }
    Some(longest)
}

/// Validates and records an export of `session` by its owner `me`, then enqueues it. Shared by the API and the
/// session page's form.
pub async fn request_export(
    state: &AppState,
    me: &SignedIn,
    session: &studio_session::Model,
    choice: FormatChoice,
) -> Result<export::Model, ApiError> {
    if session.user_id != me.user.id {
        tracing::info!(user_id = %me.user.id, session_id = %session.id, "export of another user's session refused");
        return Err(ApiError::Forbidden("only the session's owner can export it".to_owned()));
    }
    let tracks = omnisonic_store::studio::list_tracks(&state.db, session.id).await?;
    if !tracks.iter().any(|t| t.upload_id.is_some() && !t.mute) {
        return Err(ApiError::invalid("sessionId", "the session has no unmuted tracks with audio to mix"));
    }
    let limit = state.background.export_max_duration.as_secs();
    if let Some(seconds) = mix_seconds(&tracks, session.sample_rate)
        && seconds > limit as f64
    {
        return Err(ApiError::invalid(
            "sessionId",
            format!(
                "the mix would be {seconds:.1} seconds long; exports are limited to {limit} seconds \
                 (EXPORT_MAX_DURATION_SECONDS)"
            ),
        ));
    }
    let row =
        store::create_export(&state.db, session.id, me.user.id, choice.format, choice.bit_depth, choice.bitrate_kbps)
            .await?;
    let payload = serde_json::json!({ "export_id": row.id }).to_string();
    if let Err(err) = state.background.queue.enqueue(QUEUE, &payload).await {
        // Without a job the row would stay pending for ever: record why instead.
        let _ = store::fail_export(&state.db, row.id, "the export could not be queued; try again").await;
        return Err(ApiError::Unavailable(format!("the job queue: {err}")));
    }
    tracing::info!(export_id = %row.id, session_id = %session.id, format = choice.format, "export queued");
    state
        .publish_to_session(
            session.id,
            "export.progress",
            serde_json::json!({ "exportId": row.id, "sessionId": session.id, "progress": 0, "status": "pending" }),
        )
        .await;
    Ok(row)
}

/// Asks for a mixdown of a studio session. Only the session's owner may.
#[utoipa::path(post, path = "/api/export", tag = "exports", request_body = ExportRequest,
    responses(
        (status = 202, description = "Queued", body = ExportView),
        (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the session's owner", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad format, nothing to mix, or longer than EXPORT_MAX_DURATION_SECONDS", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    crate::extract::ApiJson(request): crate::extract::ApiJson<ExportRequest>,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    let choice = parse_format(request.format.as_deref(), request.bit_depth, request.bitrate)?;
    let session = omnisonic_store::studio::get_session(&state.db, request.session_id).await?;
    let row = request_export(&state, &me, &session, choice).await?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

/// The export if `me` may see it: its owner only.
async fn owned_export(state: &AppState, me: &SignedIn, id: &str) -> Result<export::Model, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound(format!("export {id}")))?;
    let row = store::get_export(&state.db, id).await?;
    if row.user_id != me.user.id {
        return Err(ApiError::Forbidden("this export belongs to another user".to_owned()));
    }
    Ok(row)
}

/// Status and progress of an export.
#[utoipa::path(get, path = "/api/export/{id}", tag = "exports", params(("id" = Uuid, Path, description = "export id")),
    responses(
        (status = 200, description = "The export", body = ExportView),
        (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another user's", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, ApiError> {
    Ok(Json(owned_export(&state, &me, &id).await?.into()))
}

/// Downloads a completed export: redirects to a download URL valid for an hour.
#[utoipa::path(get, path = "/api/export/{id}/download", tag = "exports", params(("id" = Uuid, Path, description = "export id")),
    responses(
        (status = 302, description = "To the file"),
        (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another user's", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such export", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed yet", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn download(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = owned_export(&state, &me, &id).await?;
    let Some(key) = row.storage_key.as_deref().filter(|_| row.status == store::status::COMPLETED) else {
        return Err(ApiError::Conflict(format!("the export is {}, not completed", row.status)));
    };
    let url = state.download_url(key).await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".to_owned())]).into_response())
}
