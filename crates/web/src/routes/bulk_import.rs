//! Bulk ISRC import (spec 2.3): `POST /ingest/isrc/bulk` takes a CSV or JSON Lines file and answers `202` with a
//! job at once; `GET /ingest/isrc/bulk/{id}` is the job's status, `…/errors.csv` its full error report and
//! `…/events` its progress as server-sent events.
//!
//! The file is never held whole: its first line is read to check the columns (a file without `isrc`, `title`
//! and `artist` fails here, before anything is stored), then the body streams into object storage, counted
//! against `BULK_IMPORT_MAX_FILE_SIZE_MB` as it goes. A worker does the rest.

use crate::auth::ApiUser;
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use omnisonic_app::bulk_import::progress::{JobProgress, progress_message};
use omnisonic_app::bulk_import::report::report_stream;
use omnisonic_domain::bulk_import::{Columns, Format};
use omnisonic_domain::records::{CsvRecords, RawRecord};
use omnisonic_domain::upload::display_name;
use omnisonic_store::bulk_imports::{self as store, NewJob, StoredIssue};
use omnisonic_store::entities::bulk_import_job::Model as Job;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The queue bulk import jobs go to.
/// How many findings the status shows; the report has them all.
pub const FIRST_ERRORS: u64 = 20;
/// The first line (the header) may be at most this long.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The limit's window.
pub const RATE_WINDOW: Duration = Duration::from_secs(3600);

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        // The size limit is ours (counted while streaming), not axum's default.
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(show))
        .routes(routes!(error_report))
        .routes(routes!(events))
}

/// A finding in the status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportIssue {
    /// The line of the file (the header is line 1).
    pub line: i64,
    /// The column at fault.
    pub column: Option<String>,
    /// The value (shortened).
    pub value: String,
    /// Why.
    pub reason: String,
    /// `error`: rejected; `warning`: written anyway.
    pub severity: String,
}

impl From<StoredIssue> for ImportIssue {
    fn from(issue: StoredIssue) -> Self {
        Self {
            line: issue.line,
            column: issue.column,
            value: issue.value,
            reason: issue.reason,
            severity: issue.severity,
        }
    }
}

/// A bulk import job.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Counts and state.
    #[serde(flatten)]
    pub progress: JobProgress,
    /// `csv` or `jsonl`.
    pub format: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// Its size in bytes.
    pub file_size: i64,
    /// A download link for the uploaded file, valid for an hour.
    pub file_url: Option<String>,
    /// The first findings, in line order.
    pub errors: Vec<ImportIssue>,
    /// Every finding as CSV: line, column, value, reason, severity.
    pub error_report_url: String,
    /// This status.
    pub status_url: String,
    /// Progress as server-sent events.
    pub events_url: String,
    /// When it was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When a worker started it.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it completed or failed.
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The job's full view.
pub async fn view(state: &AppState, job: Job) -> Result<JobView, ApiError> {
    let errors = store::issues_after(&state.db, job.id, (0, 0), FIRST_ERRORS).await?;
    let file_url =
        if job.file_key.starts_with("imports/") { state.download_url(&job.file_key).await.ok() } else { None };
    Ok(JobView {
        progress: JobProgress::from(&job),
        format: job.format.clone(),
        file_name: job.file_name.clone(),
        file_size: job.file_size,
        file_url,
        errors: errors.into_iter().map(|(_, issue)| issue.into()).collect(),
        error_report_url: format!("/ingest/isrc/bulk/{}/errors.csv", job.id),
        status_url: format!("/ingest/isrc/bulk/{}", job.id),
        events_url: format!("/ingest/isrc/bulk/{}/events", job.id),
        created_at: job.created_at,
        started_at: job.started_at,
        completed_at: job.completed_at,
    })
}

/// Query of `POST /ingest/isrc/bulk`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct CreateQuery {
    /// `csv` or `jsonl`; otherwise the file name's extension or the `Content-Type` decides.
    #[serde(default)]
    pub format: Option<String>,
    /// The file's name (a raw body has none).
    #[serde(default)]
    pub name: Option<String>,
}

type Chunks<'a> = BoxStream<'a, Result<Bytes, String>>;

/// Starts an import. The body is the file itself (`Content-Type: text/csv` or `application/x-ndjson`), or a
/// `multipart/form-data` form whose `file` field is (the upload form on `/imports`).
#[utoipa::path(post, path = "/ingest/isrc/bulk", tag = "ingest", params(CreateQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "CSV with a header (isrc, title, artist; optional duration, released_at, genre) or JSON Lines, at most BULK_IMPORT_MAX_FILE_SIZE_MB"),
    responses(
        (status = 202, description = "Accepted: the job, with its status URL in `Location`", body = JobView),
        (status = 401, description = "Not signed in (session or `Authorization: Bearer` API token)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over BULK_IMPORT_MAX_FILE_SIZE_MB", body = crate::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither CSV nor JSON Lines", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Required columns missing, or an empty file", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over BULK_IMPORT_RATE_LIMIT_PER_HOUR; see Retry-After", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Query(query): Query<CreateQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    // The upload form on /imports without JavaScript: answer with pages, not JSON.
    let from_page = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let started = start(&state, &me, query, request).await;
    let see_other = |location: String| (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    match started {
        Ok(job) if from_page => Ok(see_other(format!("/imports/{}", job.id))),
        Err(err) if from_page => {
            // Shortened: a header of many columns would otherwise make a `Location` too long for proxies.
            let detail: String = err.problem().detail.chars().take(300).collect();
            let detail: String = url::form_urlencoded::byte_serialize(detail.as_bytes()).collect();
            Ok(see_other(format!("/imports?error={detail}")))
        }
        Ok(job) => {
            let location = format!("/ingest/isrc/bulk/{}", job.id);
            let view = view(&state, job).await?;
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&location) {
                headers.insert(header::LOCATION, value);
            }
            Ok((StatusCode::ACCEPTED, headers, Json(view)).into_response())
        }
        Err(err) => Err(err),
    }
}

/// Checks, stores and queues one import; the job as created.
async fn start(
    state: &AppState,
    me: &crate::auth::SignedIn,
    query: CreateQuery,
    request: Request,
) -> Result<Job, ApiError> {
    let limits = state.background.bulk_import;
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_file_bytes) {
        return Err(ApiError::PayloadTooLarge);
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut multipart;
    let (name, part_type, body): (String, Option<String>, Chunks<'_>) =
        if content_type.starts_with("multipart/form-data") {
            multipart =
                Multipart::from_request(request, &state).await.map_err(|e| ApiError::MalformedBody(e.body_text()))?;
            let field = loop {
                match multipart.next_field().await.map_err(|e| ApiError::MalformedBody(e.body_text()))? {
                    Some(field) if field.name() == Some("file") => break field,
                    Some(_) => continue,
                    None => return Err(ApiError::invalid("file", "the form has no file field")),
                }
            };
            let name = field.file_name().map(str::to_owned).or(query.name.clone()).unwrap_or_default();
            let part_type = field.content_type().map(str::to_owned);
            (name, part_type, field.map(|chunk| chunk.map_err(|e| e.body_text())).boxed())
        } else {
            let body = request.into_body().into_data_stream().map(|chunk| chunk.map_err(|e| e.to_string())).boxed();
            (query.name.clone().unwrap_or_default(), None, body)
        };
    let format = match query.format.as_deref() {
        Some(f) => Some(
            Format::parse(&f.to_ascii_lowercase())
                .ok_or_else(|| ApiError::invalid("format", format!("{f:?} is not a format; use csv or jsonl")))?,
        ),
        None => Format::from_file_name(&name)
            .or_else(|| part_type.as_deref().and_then(Format::from_media_type))
            .or_else(|| Format::from_media_type(&content_type)),
    };
    let Some(format) = format else {
        return Err(ApiError::UnsupportedMediaType(
            "send CSV (text/csv, or a .csv name) or JSON Lines (application/x-ndjson, or a .jsonl name), \
             or say which with ?format=csv|jsonl"
                .to_owned(),
        ));
    };

    let (head, rest) = read_head(body).await?;
    check_head(format, &head)?;

    let key = format!("bulk-import:{}", me.user.id);
    match state.app.rate_limiter.acquire(&key, limits.per_hour, RATE_WINDOW).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            return Err(ApiError::TooManyRequests {
                detail: format!("at most {} bulk imports per hour", limits.per_hour),
                retry_after: wait.as_secs().max(1),
            });
        }
        Err(err) => return Err(ApiError::Unavailable(err.to_string())),
    }

    let id = Uuid::now_v7();
    let storage_key = format!("imports/{}/{id}", me.user.id);
    let newlines = Arc::new(AtomicU64::new(count_newlines(&head)));
    let last_byte = Arc::new(AtomicU64::new(head.last().copied().map_or(u64::from(b'\n'), u64::from)));
    let counted = {
        let (newlines, last_byte) = (newlines.clone(), last_byte.clone());
        rest.map(move |chunk| {
            if let Ok(chunk) = &chunk
                && let Some(last) = chunk.last()
            {
                newlines.fetch_add(count_newlines(chunk), Ordering::Relaxed);
                last_byte.store(u64::from(*last), Ordering::Relaxed);
            }
            chunk
        })
    };
    let stored = state.storage.upload(&storage_key, head, counted, limits.max_file_bytes).await?;
    // Lines, plus a last line without a line break, minus the header: an upper bound (blank lines count), made
    // exact when the job completes.
    let lines = newlines.load(Ordering::Relaxed) + u64::from(last_byte.load(Ordering::Relaxed) != u64::from(b'\n'));
    let total = match format {
        Format::Csv => lines.saturating_sub(1),
        Format::Jsonl => lines,
    };
    let new = NewJob {
        id,
        user_id: Some(me.user.id),
        format,
        file_name: display_name(&name),
        file_key: storage_key.clone(),
        file_size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        batch_size: i32::try_from(limits.batch_size).unwrap_or(100),
        total_records: i64::try_from(total).unwrap_or(i64::MAX),
    };
    Ok(omnisonic_app::bulk_import::queue_import(&state.app, &new).await?)
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Reads the body up to its first line break (at most [`MAX_HEAD_BYTES`]); returns those bytes and the rest.
async fn read_head(mut body: Chunks<'_>) -> Result<(Bytes, Chunks<'_>), ApiError> {
    let mut head = BytesMut::new();
    while !head.contains(&b'\n') && head.len() < MAX_HEAD_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(err)) => return Err(ApiError::MalformedBody(format!("the upload was interrupted: {err}"))),
            None => break,
        }
    }
    Ok((head.freeze(), body))
}

/// Refuses at once a file that cannot be imported: empty, a CSV header without the required columns, or JSON
/// Lines whose first record is not a JSON object.
fn check_head(format: Format, head: &[u8]) -> Result<(), ApiError> {
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Unprocessable("the file is empty".to_owned()));
    }
    if !head.contains(&b'\n') && head.len() >= MAX_HEAD_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "the first line is longer than {} KiB; is this a CSV or JSON Lines file?",
            MAX_HEAD_BYTES / 1024
        )));
    }
    match format {
        Format::Csv => match CsvRecords::new(first_line).next_record() {
            Ok(Some(header @ RawRecord::Fields { .. })) => {
                Columns::from_header(header.fields()).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
                Ok(())
            }
            _ => Err(ApiError::Unprocessable("the first line is not a CSV header".to_owned())),
        },
        Format::Jsonl => {
            let head = head.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(head);
            let line = head.split(|b| *b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace)).unwrap_or_default();
            let complete = head.contains(&b'\n');
            let object = serde_json::from_slice::<serde_json::Value>(line).map(|v| v.is_object());
            if complete && !matches!(object, Ok(true)) {
                return Err(ApiError::Unprocessable(
                    "the first line is not a JSON object; JSON Lines files have one object per line".to_owned(),
                ));
            }
            Ok(())
        }
    }
}

/// The job, if it exists and `me` may see it (its uploader).
async fn owned(state: &AppState, me: &crate::auth::SignedIn, raw_id: &str) -> Result<Job, ApiError> {
    let id = Uuid::parse_str(raw_id).map_err(|_| ApiError::NotFound(format!("bulk import {raw_id}")))?;
    let job = store::get_job(&state.db, id).await?.ok_or_else(|| ApiError::NotFound(format!("bulk import {id}")))?;
    Ok(omnisonic_app::access::owned_by(job, me.user.id)?)
}

/// The job's status, counts and first findings.
#[utoipa::path(get, path = "/ingest/isrc/bulk/{id}", tag = "ingest", responses(
    (status = 200, description = "The job", body = JobView),
    (status = 403, description = "Another user's import", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such import", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = owned(&state, &me, &id).await?;
    Ok(Json(view(&state, job).await?))
}

/// Every finding of the job as CSV (`line,column,value,reason,severity`), in line order, streamed page by page.
#[utoipa::path(get, path = "/ingest/isrc/bulk/{id}/errors.csv", tag = "ingest", responses(
    (status = 200, description = "The report", content_type = "text/csv"),
    (status = 403, description = "Another user's import", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such import", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn error_report(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = owned(&state, &me, &id).await?;
    let body = report_stream(state.db.reader().clone(), job.id);
    let disposition = format!("attachment; filename=\"import-{}-errors.csv\"", job.id);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The job's progress as server-sent events (`progress`, each a [`JobProgress`]): the current state first, then
/// every update until it completes or fails.
#[utoipa::path(get, path = "/ingest/isrc/bulk/{id}/events", tag = "ingest", responses(
    (status = 200, description = "Server-sent events", content_type = "text/event-stream"),
    (status = 403, description = "Another user's import", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such import", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn events(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = owned(&state, &me, &id).await?;
    let subscription = state
        .app
        .pubsub
        .subscribe_confirmed(&omnisonic_domain::channels::bulk_import(job.id))
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    // Read after subscribing, so no update falls between the snapshot and the first message.
    let current = store::get_job(&state.db, job.id).await?.unwrap_or(job);
    let first = progress_message(&current);
    let done = store::Status::is_finished(&current.status);
    let updates = futures::stream::unfold((subscription, done), move |(mut sub, done)| async move {
        if done {
            return None;
        }
        loop {
            let message = sub.recv().await?;
            if &*message == omnisonic_platform::pubsub::PROBE {
                continue;
            }
            let ended = serde_json::from_str::<serde_json::Value>(&message)
                .ok()
                .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(store::Status::is_finished))
                .unwrap_or(false);
            return Some((message.to_string(), (sub, ended)));
        }
    });
    let stream = futures::stream::once(async move { first })
        .chain(updates)
        .fuse()
        .map(|data| Ok::<_, std::convert::Infallible>(Event::default().event("progress").data(data)));
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
