//! Mixdown exports (spec 1.3): `POST /api/export` asks for one (the session's owner only), `GET /api/export/{id}`
//! reports status and progress, `GET /api/export/{id}/download` redirects to a short-lived download URL.
//!
//! Asking checks everything that can be checked before any work: the format, that the session has tracks with
//! audio, and that the mix is no longer than `EXPORT_MAX_DURATION_SECONDS` (from the track lengths probed when the
//! tracks were added). Then the `exports` row is written and the job enqueued; the worker does the rest.

use crate::auth::{ApiUser, SignedIn};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use omnisonic_domain::export::ExportFormat;
use omnisonic_store::entities::export;
use omnisonic_store::exports as store;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Routes of this module, each with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(show)).routes(routes!(download))
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
    let format = ExportFormat::parse(request.format.as_deref(), request.bit_depth, request.bitrate)?;
    let session = omnisonic_store::studio::get_session(&state.db, request.session_id).await?;
    let row = omnisonic_app::exports::request_export(&state.app, me.user.id, &session, format).await?;
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

/// The export if `me` may see it: its owner only.
async fn owned_export(state: &AppState, me: &SignedIn, id: &str) -> Result<export::Model, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound(format!("export {id}")))?;
    let row = store::get_export(&state.db, id).await?;
    Ok(omnisonic_app::access::owned_by(row, me.user.id)?)
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
