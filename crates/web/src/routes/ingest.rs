//! `POST /ingest/isrc`: one recording, validated and upserted by its ISRC.

use crate::auth::ApiUser;
use crate::extract::ApiJson;
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use omnisonic_domain::catalogue::RecordingInput;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Largest body `POST /ingest/isrc` accepts; one record is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest_isrc)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// One recording to ingest.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IsrcRecord {
    /// ISRC in any common spelling: `USRC11301176`, `US-RC1-13-01176`, `ISRC US-RC1-13-01176`, lower case.
    #[schema(example = "US-RC1-13-01176")]
    #[serde(default)]
    pub isrc: String,
    /// Title.
    #[schema(example = "2 On")]
    #[serde(default)]
    pub title: String,
    /// Main artist credit.
    #[schema(example = "Tinashe")]
    #[serde(default)]
    pub artist: String,
    /// Length in whole seconds (0–86400).
    #[serde(default, alias = "duration")]
    pub duration_seconds: Option<i64>,
    /// Release date `YYYY-MM-DD` (a bare year or year-month is accepted).
    #[serde(default)]
    #[schema(example = "2014-01-21")]
    pub released_at: Option<String>,
    /// Genre label.
    #[serde(default)]
    pub genre: Option<String>,
}

/// The stored recording.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestedRecording {
    /// Recording id.
    pub id: Uuid,
    /// Compact upper-case ISRC as stored.
    pub isrc: String,
    /// Title.
    pub title: String,
    /// Main artist credit.
    pub artist: String,
    /// Length in seconds.
    pub duration_seconds: Option<i32>,
    /// Release date.
    pub released_at: Option<NaiveDate>,
    /// Genre.
    pub genre: Option<String>,
    /// `true` when this request created the recording, `false` when it updated an existing one.
    pub created: bool,
}

/// Validates one recording and upserts it by ISRC: 201 when new, 200 when it updated an existing recording.
/// Needs a signed-in session (cookie) and, because the cookie is ambient, the session's CSRF token.
#[utoipa::path(post, path = "/ingest/isrc", tag = "ingest", request_body = IsrcRecord, responses(
    (status = 201, description = "Created", body = IngestedRecording),
    (status = 200, description = "Updated the recording with this ISRC", body = IngestedRecording),
    (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "CSRF token missing or wrong", body = crate::Problem, content_type = "application/problem+json"),
    (status = 413, description = "Body over 16 KiB", body = crate::Problem, content_type = "application/problem+json"),
    (status = 415, description = "Not JSON", body = crate::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields, listed under `errors`", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn ingest_isrc(
    State(state): State<AppState>,
    _signed_in: ApiUser,
    ApiJson(record): ApiJson<IsrcRecord>,
) -> Result<(StatusCode, Json<IngestedRecording>), ApiError> {
    let input = RecordingInput {
        isrc: record.isrc,
        title: record.title,
        artist: record.artist,
        duration_seconds: record.duration_seconds,
        released_at: record.released_at,
        genre: record.genre,
    };
    let valid = input.validate().map_err(ApiError::Validation)?;
    let (row, created) = omnisonic_store::catalogue::upsert_recording(&state.db, &valid).await?;
    // Subscribers to `recordingUpdated` hear about REST writes too, after the commit.
    omnisonic_graphql::events::publish(&state.events, &[omnisonic_graphql::events::recording(row.id)], &row).await;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(IngestedRecording {
            id: row.id,
            isrc: row.isrc,
            title: row.title,
            artist: row.artist,
            duration_seconds: row.duration_seconds,
            released_at: row.released_at,
            genre: row.genre,
            created,
        }),
    ))
}
