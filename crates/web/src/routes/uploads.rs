//! Uploads (spec 1.2): `POST /api/upload` streams a file into object storage; `GET /api/upload/{id}` gives its
//! metadata and a download URL; `DELETE /api/upload/{id}` (or `POST …/delete`) removes it; `GET /api/files/…`
//! serves the local backend's signed downloads, with range requests.
//!
//! The body is never held whole: its first 8 KiB decide whether it is media at all (by its bytes, whatever its
//! name or `Content-Type` claim), then it streams to storage, counted against the 100 MB limit as it goes. Only
//! the owner sees or deletes an upload.

use crate::auth::ApiUser;
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use omnisonic_domain::upload::{MAX_UPLOAD_BYTES, SNIFF_BYTES, display_name, sniff};
use omnisonic_platform::StorageError;
use omnisonic_platform::storage::PART_BYTES;
use omnisonic_store::entities::upload;
use omnisonic_store::uploads::{self as store, NewUpload};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// How long a download URL works (spec 1.2: one hour).
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(3600);

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        // not in OpenAPI: signed URLs the API hands out (downloads, browser-direct parts), never called by name.
        .route("/api/files/{*key}", get(download).put(put_part))
        // The limits are ours (counted while streaming), not axum's default.
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(begin_direct))
        .routes(routes!(show, remove))
        // not in OpenAPI: the HTML forms' spelling of `DELETE /api/upload/{id}`.
        .route("/api/upload/{id}/delete", post(remove))
        .routes(routes!(part_urls))
        .routes(routes!(complete_direct))
}

/// Query of `POST /api/upload`.
#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    /// The file's original name (kept as metadata only).
    #[serde(default)]
    pub name: Option<String>,
}

/// An upload as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadView {
    /// Upload id.
    pub id: Uuid,
    /// Original file name (made safe).
    pub file_name: String,
    /// Size in bytes.
    pub file_size: i64,
    /// Media type, from the file's bytes.
    pub mime_type: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// The studio session using it, if any.
    pub session_id: Option<Uuid>,
    /// When it was uploaded.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Download URL: the CDN's when configured, else presigned / signed, valid for an hour.
    pub url: String,
}

async fn view(state: &AppState, row: upload::Model) -> Result<UploadView, ApiError> {
    let url = state.download_url(&row.storage_key).await?;
    Ok(UploadView {
        id: row.id,
        file_name: row.file_name,
        file_size: row.file_size,
        mime_type: row.mime_type,
        sha256: row.sha256,
        session_id: row.session_id,
        created_at: row.created_at,
        url,
    })
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::TooLarge { .. } => ApiError::PayloadTooLarge,
            StorageError::Interrupted(reason) => {
                ApiError::MalformedBody(format!("the upload was interrupted: {reason}"))
            }
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

/// Streams one file into storage. The body is the file itself (`Content-Type` is ignored: the bytes decide).
#[utoipa::path(post, path = "/api/upload", tag = "uploads", params(("name" = Option<String>, Query, description = "original file name")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file, at most 100 MB"),
    responses(
        (status = 201, description = "Stored", body = UploadView),
        (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 100 MB", body = crate::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not audio, image or video", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Query(query): Query<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<UploadView>), ApiError> {
    // Refuse a declared size over the limit before reading a byte.
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_UPLOAD_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = request.into_body().into_data_stream();
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(err)) => return Err(StorageError::Interrupted(err.to_string()).into()),
            None => break,
        }
    }
    let Some((_, mime)) = sniff(&head) else {
        return Err(ApiError::UnsupportedMediaType(
            "the file is not audio, image or video (judged by its content, not its name)".to_owned(),
        ));
    };
    let id = Uuid::now_v7();
    // Generated, never from the client: names with `../`, NUL or 300 characters cannot reach the key.
    let key = format!("uploads/{}/{id}", me.user.id);
    let stored = state.storage.upload(&key, Bytes::from(head), body, MAX_UPLOAD_BYTES).await?;
    let new = NewUpload {
        id,
        user_id: me.user.id,
        file_name: display_name(query.name.as_deref().unwrap_or("")),
        file_size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        mime_type: mime.to_owned(),
        storage_key: key.clone(),
        sha256: stored.sha256,
    };
    let row = match store::create_upload(&state.db, new).await {
        Ok(row) => row,
        Err(err) => {
            // No row, no object: never leave an orphan behind.
            let _ = state.storage.delete(&key).await;
            return Err(err.into());
        }
    };
    tracing::info!(upload_id = %row.id, size = row.file_size, mime = %row.mime_type, "upload stored");
    Ok((StatusCode::CREATED, Json(view(&state, row).await?)))
}

/// The upload, if it exists and belongs to `me`.
async fn owned(state: &AppState, me: &crate::auth::SignedIn, raw_id: &str) -> Result<upload::Model, ApiError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| ApiError::NotFound(format!("upload {raw_id}")))?;
    let row = store::get_upload(&state.db, id).await?;
    Ok(omnisonic_app::access::owned_by(row, me.user.id)?)
}

/// Metadata and a fresh download URL.
#[utoipa::path(get, path = "/api/upload/{id}", tag = "uploads", responses(
    (status = 200, description = "The upload", body = UploadView),
    (status = 403, description = "Another user's upload", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such upload", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<UploadView>, ApiError> {
    let row = owned(&state, &me, &id).await?;
    Ok(Json(view(&state, row).await?))
}

/// Deletes the object and its row.
#[utoipa::path(delete, path = "/api/upload/{id}", tag = "uploads", responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Another user's upload", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such upload", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn remove(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = owned(&state, &me, &id).await?;
    if let Some(multipart_id) = row.multipart_id.as_deref() {
        state.storage.abort_direct(&row.storage_key, multipart_id).await?;
    }
    state.storage.delete(&row.storage_key).await?;
    store::delete_upload(&state.db, row.id).await?;
    tracing::info!(upload_id = %row.id, "upload deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Serves a local-backend download whose signature and expiry check out (`403` otherwise), with range requests.
/// The media type and download name of a stored object: an upload's own, an export's (`mixdown-<id>.<ext>`), or
/// a bulk import's file.
async fn served_file(state: &AppState, key: &str) -> Result<Option<(String, String)>, omnisonic_store::StoreError> {
    if key.starts_with("exports/") {
        let Some(export) = omnisonic_store::exports::export_by_key(&state.db, key).await? else { return Ok(None) };
        let mime = match export.format.as_str() {
            "flac" => "audio/flac",
            "mp3" => "audio/mpeg",
            _ => "audio/wav",
        };
        return Ok(Some((mime.to_owned(), format!("mixdown-{}.{}", export.id, export.format))));
    }
    if key.starts_with("imports/") {
        let Some(job) = omnisonic_store::bulk_imports::job_by_file_key(&state.db, key).await? else { return Ok(None) };
        let mime = if job.format == "jsonl" { "application/jsonl" } else { "text/csv" };
        return Ok(Some((mime.to_owned(), job.file_name)));
    }
    Ok(store::upload_by_key(&state.db, key).await?.map(|row| (row.mime_type, row.file_name)))
}

async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    request: Request,
) -> Response {
    let expires = query.get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(sig)) = (expires, query.get("sig")) else {
        return ApiError::Forbidden("this download link is missing its signature".to_owned()).into_response();
    };
    let Some(path) = state.storage.verify_local(&key, expires, sig) else {
        return ApiError::Forbidden("this download link is invalid or has expired".to_owned()).into_response();
    };
    let (mime_type, file_name) = match served_file(&state, &key).await {
        Ok(Some(found)) => found,
        Ok(None) => return ApiError::NotFound("file".to_owned()).into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let mime: mime::Mime = mime_type.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let served = tower_http::services::ServeFile::new_with_mime(path, &mime).oneshot(request).await;
    match served {
        Ok(response) => {
            let mut response = response.map(Body::new);
            // An ASCII fallback name, and the real one per RFC 6266 / 5987.
            let ascii: String = file_name
                .chars()
                .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
                .collect();
            let encoded: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
            let disposition =
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", encoded.replace('+', "%20"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
            }
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
            response
        }
        Err(never) => match never {},
    }
}

/// Body of `POST /api/upload/direct`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DirectStart {
    /// Original file name.
    #[serde(default)]
    pub name: String,
    /// Size in bytes (decides the number of parts; at most 100 MB).
    pub size: u64,
}

/// One part to `PUT`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartUrl {
    /// 1-based part number.
    pub part_number: u32,
    /// Where to `PUT` the part's bytes (valid for an hour); the response's `ETag` goes into `complete`.
    pub url: String,
}

/// Answer of `POST /api/upload/direct` and `…/parts`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectUpload {
    /// Upload id.
    pub id: Uuid,
    /// Bytes per part (the last part may be shorter).
    pub part_size: u64,
    /// The parts' URLs.
    pub parts: Vec<PartUrl>,
}

/// Body of `POST /api/upload/{id}/parts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartRequest {
    /// The part numbers to get fresh URLs for.
    pub part_numbers: Vec<u32>,
}

/// One sent part.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentPart {
    /// 1-based part number.
    pub part_number: u32,
    /// The `ETag` the part's `PUT` answered.
    pub etag: String,
}

/// Body of `POST /api/upload/{id}/complete`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DirectComplete {
    /// Every part, in any order.
    pub parts: Vec<SentPart>,
}

fn part_count(size: u64) -> u32 {
    u32::try_from(size.div_ceil(PART_BYTES as u64)).unwrap_or(u32::MAX).max(1)
}

/// The exact length of part `part` (1-based) of a `size`-byte upload.
fn part_length(size: u64, part: u32) -> u64 {
    let start = u64::from(part.saturating_sub(1)) * PART_BYTES as u64;
    size.saturating_sub(start).min(PART_BYTES as u64)
}

async fn urls_for(
    state: &AppState,
    key: &str,
    multipart_id: &str,
    size: u64,
    parts: impl Iterator<Item = u32>,
) -> Result<Vec<PartUrl>, ApiError> {
    let base = state.auth.config.public_url.as_str();
    let mut urls = Vec::new();
    for part_number in parts {
        let length = part_length(size, part_number);
        let url = state.storage.part_url(key, multipart_id, part_number, length, base, DOWNLOAD_URL_TTL).await?;
        urls.push(PartUrl { part_number, url });
    }
    Ok(urls)
}

/// Starts a browser-direct upload: presigned part URLs, so the bytes need not pass through the app.
#[utoipa::path(post, path = "/api/upload/direct", tag = "uploads", request_body = DirectStart, responses(
    (status = 201, description = "Send the parts, then complete", body = DirectUpload),
    (status = 413, description = "Over 100 MB", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn begin_direct(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    crate::extract::ApiJson(start): crate::extract::ApiJson<DirectStart>,
) -> Result<(StatusCode, Json<DirectUpload>), ApiError> {
    if start.size > MAX_UPLOAD_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if start.size == 0 {
        return Err(ApiError::invalid("size", "must be at least 1 byte"));
    }
    let id = Uuid::now_v7();
    let key = format!("uploads/{}/{id}", me.user.id);
    let multipart_id = state.storage.begin_direct(&key).await?;
    let new = NewUpload {
        id,
        user_id: me.user.id,
        file_name: display_name(&start.name),
        file_size: i64::try_from(start.size).unwrap_or(i64::MAX),
        mime_type: "application/octet-stream".to_owned(),
        storage_key: key.clone(),
        sha256: String::new(),
    };
    store::create_pending_upload(&state.db, new, &multipart_id).await?;
    let parts = urls_for(&state, &key, &multipart_id, start.size, 1..=part_count(start.size)).await?;
    Ok((StatusCode::CREATED, Json(DirectUpload { id, part_size: PART_BYTES as u64, parts })))
}

/// A pending direct upload of `me`'s.
async fn pending(
    state: &AppState,
    me: &crate::auth::SignedIn,
    raw_id: &str,
) -> Result<(upload::Model, String), ApiError> {
    let row = owned(state, me, raw_id).await?;
    match (&row.multipart_id, row.status.as_str()) {
        (Some(multipart_id), store::PENDING) => {
            let multipart_id = multipart_id.clone();
            Ok((row, multipart_id))
        }
        _ => Err(ApiError::Conflict("this upload is already complete".to_owned())),
    }
}

/// Fresh part URLs for a pending direct upload (to resume after an interruption).
#[utoipa::path(post, path = "/api/upload/{id}/parts", tag = "uploads", request_body = PartRequest, responses(
    (status = 200, description = "Fresh URLs", body = DirectUpload),
))]
pub async fn part_urls(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
    crate::extract::ApiJson(request): crate::extract::ApiJson<PartRequest>,
) -> Result<Json<DirectUpload>, ApiError> {
    let (row, multipart_id) = pending(&state, &me, &id).await?;
    let count = part_count(u64::try_from(row.file_size).unwrap_or(0));
    if request.part_numbers.iter().any(|n| *n == 0 || *n > count) {
        return Err(ApiError::invalid("partNumbers", format!("must be between 1 and {count}")));
    }
    let size = u64::try_from(row.file_size).unwrap_or(0);
    let parts = urls_for(&state, &row.storage_key, &multipart_id, size, request.part_numbers.into_iter()).await?;
    Ok(Json(DirectUpload { id: row.id, part_size: PART_BYTES as u64, parts }))
}

/// Assembles the parts, then checks the file like any upload (size, media by its bytes); refused files are
/// deleted.
#[utoipa::path(post, path = "/api/upload/{id}/complete", tag = "uploads", request_body = DirectComplete, responses(
    (status = 200, description = "Stored", body = UploadView),
    (status = 413, description = "Over 100 MB", body = crate::Problem, content_type = "application/problem+json"),
    (status = 415, description = "Not audio, image or video", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn complete_direct(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
    crate::extract::ApiJson(mut complete): crate::extract::ApiJson<DirectComplete>,
) -> Result<Json<UploadView>, ApiError> {
    let (row, multipart_id) = pending(&state, &me, &id).await?;
    // Claim it: of two racing completes (or a complete and a delete), only one goes on.
    if !store::claim_for_completion(&state.db, row.id).await? {
        return Err(ApiError::Conflict("this upload is already being completed or was deleted".to_owned()));
    }
    complete.parts.sort_by_key(|p| p.part_number);
    let expected: Vec<u32> = (1..=complete.parts.len() as u32).collect();
    let numbers: Vec<u32> = complete.parts.iter().map(|p| p.part_number).collect();
    let size = u64::try_from(row.file_size).unwrap_or(0);
    if complete.parts.is_empty() || numbers != expected || expected.len() as u32 != part_count(size) {
        store::release_claim(&state.db, row.id).await?;
        return Err(ApiError::invalid("parts", format!("must list parts 1 to {} without gaps", part_count(size))));
    }
    let etags = complete.parts.into_iter().map(|p| p.etag).collect();
    if let Err(err) = state.storage.complete_direct(&row.storage_key, &multipart_id, etags).await {
        // Still pending: the client may send the missing parts again, or the cleanup job aborts it.
        store::release_claim(&state.db, row.id).await?;
        return Err(err.into());
    }
    // The assembled size must be the declared one (which is within the limit) before anything reads the object.
    let assembled = state.storage.size(&row.storage_key).await;
    if assembled.as_ref().map_or(true, |actual| *actual != size) {
        let _ = state.storage.delete(&row.storage_key).await;
        store::delete_upload(&state.db, row.id).await?;
        return Err(match assembled {
            Ok(actual) if actual > MAX_UPLOAD_BYTES => ApiError::PayloadTooLarge,
            Ok(actual) => ApiError::invalid("parts", format!("add up to {actual} bytes, not the {size} declared")),
            Err(err) => err.into(),
        });
    }
    let (head, stored) = match state.storage.inspect(&row.storage_key, SNIFF_BYTES).await {
        Ok(found) => found,
        Err(err) => {
            let _ = state.storage.delete(&row.storage_key).await;
            store::delete_upload(&state.db, row.id).await?;
            return Err(err.into());
        }
    };
    let refusal = if stored.size > MAX_UPLOAD_BYTES {
        Some(ApiError::PayloadTooLarge)
    } else if sniff(&head).is_none() {
        Some(ApiError::UnsupportedMediaType(
            "the file is not audio, image or video (judged by its content, not its name)".to_owned(),
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        state.storage.delete(&row.storage_key).await?;
        store::delete_upload(&state.db, row.id).await?;
        return Err(refusal);
    }
    let mime = sniff(&head).map_or("application/octet-stream", |(_, mime)| mime);
    let size = i64::try_from(stored.size).unwrap_or(i64::MAX);
    let done = store::complete_upload(&state.db, row.id, size, mime, &stored.sha256).await?;
    tracing::info!(upload_id = %done.id, size, "direct upload completed");
    Ok(Json(view(&state, done).await?))
}

/// Local backend: receives one part of a direct upload at its signed URL (the URL is the permission).
async fn put_part(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    request: Request,
) -> Response {
    let part = query.get("part").and_then(|p| p.parse::<u32>().ok());
    let length = query.get("length").and_then(|l| l.parse::<u64>().ok());
    let expires = query.get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(upload_id), Some(part), Some(length), Some(expires), Some(sig)) =
        (query.get("upload"), part, length, expires, query.get("sig"))
    else {
        return ApiError::Forbidden("this upload link is missing its signature".to_owned()).into_response();
    };
    let body = request.into_body().into_data_stream();
    match state.storage.put_local_part(&key, upload_id, part, length, expires, sig, body).await {
        Ok(Some(etag)) => {
            let mut response = StatusCode::OK.into_response();
            if let Ok(value) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, value);
            }
            response
        }
        Ok(None) => ApiError::Forbidden("this upload link is invalid or has expired".to_owned()).into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}
