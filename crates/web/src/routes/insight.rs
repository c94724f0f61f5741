//! Insight REST (spec 3.1), for editors: feed sources (`/api/insight/sources`), items pushed by integrations
//! (`POST /ingest/news`, one JSON object, a JSON array, or JSON Lines) and re-tagging
//! (`POST /ingest/tagging/improve`) and aliases the tagger matches (`/api/insight/aliases`). Every route needs
//! the editor role; the use-cases live in
//! `omnisonic_app::insight`.

use crate::auth::{ApiUser, SignedIn};
use crate::extract::ApiJson;
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use omnisonic_app::insight::feeds::{self, PollReport};
use omnisonic_app::insight::ingest::{IncomingItem, IngestReport, RejectedItem};
use omnisonic_app::insight::retag::{self, RetagProgress, RetagScope};
use omnisonic_domain::account::StaffRole;
use omnisonic_store::entities::feed_source;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Largest body of `POST /ingest/news` (a batch of up to [`MAX_BATCH_ITEMS`] items).
pub const MAX_NEWS_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most items in one `POST /ingest/news`.
pub const MAX_BATCH_ITEMS: usize = 1_000;
/// Largest body of the other routes here.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Routes of this module, each with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    let small = OpenApiRouter::new()
        .routes(routes!(list_sources, create_source))
        .routes(routes!(show_source, update_source, delete_source))
        .routes(routes!(poll_source))
        .routes(routes!(improve_tagging))
        .routes(routes!(list_aliases, create_alias))
        .routes(routes!(delete_alias))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let news = OpenApiRouter::new().routes(routes!(ingest_news)).layer(DefaultBodyLimit::max(MAX_NEWS_BODY_BYTES));
    small.merge(news)
}

async fn editor(state: &AppState, me: &SignedIn) -> Result<(), ApiError> {
    Ok(omnisonic_app::access::require_role(&state.db, me.user.id, StaffRole::Editor).await?)
}

/// A feed source as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceView {
    /// Source id.
    pub id: Uuid,
    /// Feed URL.
    pub url: String,
    /// Title (the feed's own once polled, unless one was given).
    pub title: Option<String>,
    /// Whether it is polled.
    pub enabled: bool,
    /// Seconds between polls.
    pub poll_interval_seconds: i32,
    /// Last poll.
    pub last_polled_at: Option<DateTime<Utc>>,
    /// Next poll.
    pub next_poll_at: DateTime<Utc>,
    /// Failed polls in a row (the backoff doubles with each, up to a day; polling never stops).
    pub consecutive_errors: i32,
    /// The last failure.
    pub last_error: Option<String>,
    /// The last HTTP status.
    pub last_status: Option<i32>,
    /// Items stored from it.
    pub items_count: i64,
}

impl From<feed_source::Model> for SourceView {
    fn from(row: feed_source::Model) -> Self {
        Self {
            id: row.id,
            url: row.url,
            title: row.title,
            enabled: row.enabled,
            poll_interval_seconds: row.poll_interval_seconds,
            last_polled_at: row.last_polled_at,
            next_poll_at: row.next_poll_at,
            consecutive_errors: row.consecutive_errors,
            last_error: row.last_error,
            last_status: row.last_status,
            items_count: row.items_count,
        }
    }
}

/// Body of `POST /api/insight/sources`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSourceRequest {
    /// Feed URL: http(s), not an internal address.
    #[schema(example = "https://pitchfork.com/feed/feed-news/rss")]
    pub url: String,
    /// A title until the feed tells its own.
    #[serde(default)]
    pub title: Option<String>,
    /// Seconds between polls (60 – 86,400; `FEED_POLL_INTERVAL_SECONDS` when absent).
    #[serde(default)]
    pub poll_interval_seconds: Option<u64>,
}

/// Body of `PATCH /api/insight/sources/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceUpdate {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// Poll it or not (enabling makes it due at once).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Seconds between polls (60 – 86,400).
    #[serde(default)]
    pub poll_interval_seconds: Option<u64>,
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound(format!("feed source {id}")))
}

/// Every feed source, with its polling state.
#[utoipa::path(get, path = "/api/insight/sources", tag = "insight", responses(
    (status = 200, description = "The sources", body = [SourceView]),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn list_sources(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
) -> Result<Json<Vec<SourceView>>, ApiError> {
    editor(&state, &me).await?;
    let rows = omnisonic_store::feeds::list_sources(&state.db).await?;
    Ok(Json(rows.into_iter().map(SourceView::from).collect()))
}

/// Adds a feed source; it is polled within a minute.
#[utoipa::path(post, path = "/api/insight/sources", tag = "insight", request_body = NewSourceRequest, responses(
    (status = 201, description = "Added", body = SourceView),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 409, description = "A source with this URL exists", body = crate::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Not an http(s) URL, an internal address, or a bad interval", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn create_source(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    ApiJson(request): ApiJson<NewSourceRequest>,
) -> Result<(StatusCode, Json<SourceView>), ApiError> {
    editor(&state, &me).await?;
    let interval = request.poll_interval_seconds.map(Duration::from_secs);
    let row = feeds::add_source(&state.app, &request.url, request.title, interval, Some(me.user.id)).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One feed source.
#[utoipa::path(get, path = "/api/insight/sources/{id}", tag = "insight", params(("id" = Uuid, Path, description = "source id")), responses(
    (status = 200, description = "The source", body = SourceView),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such source", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn show_source(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<SourceView>, ApiError> {
    editor(&state, &me).await?;
    Ok(Json(omnisonic_store::feeds::get_source(&state.db, parse_id(&id)?).await?.into()))
}

/// Changes a source's title, enabled flag or interval.
#[utoipa::path(patch, path = "/api/insight/sources/{id}", tag = "insight", params(("id" = Uuid, Path, description = "source id")), request_body = SourceUpdate, responses(
    (status = 200, description = "Changed", body = SourceView),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such source", body = crate::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Bad interval", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn update_source(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<SourceUpdate>,
) -> Result<Json<SourceView>, ApiError> {
    editor(&state, &me).await?;
    let interval = update.poll_interval_seconds.map(Duration::from_secs);
    let row = feeds::update_source(&state.app, parse_id(&id)?, update.title, update.enabled, interval).await?;
    Ok(Json(row.into()))
}

/// Removes a source; its items stay.
#[utoipa::path(delete, path = "/api/insight/sources/{id}", tag = "insight", params(("id" = Uuid, Path, description = "source id")), responses(
    (status = 204, description = "Removed"),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such source", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn delete_source(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    editor(&state, &me).await?;
    feeds::remove_source(&state.app, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls a source now, whatever its schedule, and says what happened.
#[utoipa::path(post, path = "/api/insight/sources/{id}/poll", tag = "insight", params(("id" = Uuid, Path, description = "source id")), responses(
    (status = 200, description = "Polled (a failed poll is a 200 with `error` set: the source is fine, the feed is not)", body = PollReport),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such source", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn poll_source(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<PollReport>, ApiError> {
    editor(&state, &me).await?;
    let source = omnisonic_store::feeds::get_source(&state.db, parse_id(&id)?).await?;
    Ok(Json(feeds::poll_source(&state.app, &source).await?))
}

/// Stores news items pushed by an integration, with the same validation, deduplication and tagging as feed
/// items. The body is one JSON object, a JSON array of them, or JSON Lines (`application/x-ndjson`, one object
/// per line); at most 1,000 items and 8 MiB. A bad item is refused by its position and the rest are stored.
#[utoipa::path(post, path = "/ingest/news", tag = "ingest", request_body(content = IncomingItem, description = "One item, an array, or JSON Lines", content_type = "application/json"), responses(
    (status = 200, description = "Stored, duplicate and refused items", body = IngestReport),
    (status = 400, description = "Malformed JSON", body = crate::Problem, content_type = "application/problem+json"),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 413, description = "Over 8 MiB or 1,000 items", body = crate::Problem, content_type = "application/problem+json"),
    (status = 415, description = "Neither JSON nor JSON Lines", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn ingest_news(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    editor(&state, &me).await?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::MalformedBody(rejection.body_text())
        }
    })?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (items, mut unreadable) = match mime.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" | "application/jsonlines" => {
            read_json_lines(&body)?
        }
        m if m == "application/json" || m.ends_with("+json") => (read_json(&body)?, Vec::new()),
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send application/json (an object or an array) or application/x-ndjson (JSON Lines)".to_owned(),
            ));
        }
    };
    let (positions, items): (Vec<usize>, Vec<IncomingItem>) = items.into_iter().unzip();
    let mut report = omnisonic_app::insight::ingest::ingest(&state.app, None, &items).await?;
    // The use-case numbers what it was given; report positions in the body as sent.
    for rejected in &mut report.rejected {
        rejected.index = positions.get(rejected.index).copied().unwrap_or(rejected.index);
    }
    report.rejected.append(&mut unreadable);
    report.rejected.sort_by_key(|r| r.index);
    Ok(Json(report))
}

/// An item and its position in the body.
type Numbered = (usize, IncomingItem);

/// One object or an array of them; each keeps its position.
fn read_json(body: &[u8]) -> Result<Vec<Numbered>, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedBody(format!("invalid JSON: {e}")))?;
    let values = match value {
        serde_json::Value::Array(values) => values,
        single => vec![single],
    };
    if values.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::PayloadTooLarge);
    }
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            serde_path_to_error::deserialize(value).map(|item| (index, item)).map_err(|e| {
                let mut errors = omnisonic_domain::ValidationErrors::default();
                let path = e.path().to_string();
                errors.add(
                    &format!("[{index}]{}", if path == "." { String::new() } else { format!(".{path}") }),
                    e.inner().to_string(),
                );
                ApiError::Validation(errors)
            })
        })
        .collect()
}

/// JSON Lines: blank lines are skipped; a line that is not an item is refused by its position (0-based, counting
/// non-blank lines) and the others go on.
fn read_json_lines(body: &[u8]) -> Result<(Vec<Numbered>, Vec<RejectedItem>), ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::MalformedBody("JSON Lines must be UTF-8".to_owned()))?;
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut items = Vec::with_capacity(lines.len());
    let mut rejected = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        match serde_json::from_str::<IncomingItem>(line) {
            Ok(item) => items.push((index, item)),
            Err(e) => rejected.push(RejectedItem { index, reason: format!("not an item: {e}") }),
        }
    }
    Ok((items, rejected))
}

/// Re-tags stored items with the current tagger and catalogue (all, a source's, or a time range), as a job;
/// progress goes out on the `tagging:run:{runId}` channel. Running it again changes nothing.
#[utoipa::path(post, path = "/ingest/tagging/improve", tag = "ingest", request_body = RetagScope, responses(
    (status = 202, description = "Queued", body = RetagProgress),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such source", body = crate::Problem, content_type = "application/problem+json"),
    (status = 422, description = "`to` not after `from`", body = crate::Problem, content_type = "application/problem+json"),
    (status = 503, description = "The job queue is down", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn improve_tagging(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    ApiJson(scope): ApiJson<RetagScope>,
) -> Result<(StatusCode, Json<RetagProgress>), ApiError> {
    editor(&state, &me).await?;
    Ok((StatusCode::ACCEPTED, Json(retag::start(&state.app, scope).await?)))
}

/// An alias as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AliasView {
    /// Alias id.
    pub id: Uuid,
    /// `party`, `work` or `recording`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: Uuid,
    /// The other name.
    pub alias: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl From<omnisonic_store::entities::entity_alias::Model> for AliasView {
    fn from(row: omnisonic_store::entities::entity_alias::Model) -> Self {
        Self {
            id: row.id,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            alias: row.alias,
            created_at: row.created_at,
        }
    }
}

/// Body of `POST /api/insight/aliases`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAliasRequest {
    /// `party`, `work` or `recording`.
    #[schema(example = "party")]
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: Uuid,
    /// The other name (at most 500 characters).
    #[schema(example = "RHCP")]
    pub alias: String,
}

/// Query of `GET /api/insight/aliases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct AliasQuery {
    /// Only this entity's aliases.
    #[serde(default)]
    pub entity_id: Option<Uuid>,
}

/// Aliases, oldest first: every one, or one entity's.
#[utoipa::path(get, path = "/api/insight/aliases", tag = "insight", params(AliasQuery), responses(
    (status = 200, description = "The aliases", body = [AliasView]),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn list_aliases(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    axum::extract::Query(query): axum::extract::Query<AliasQuery>,
) -> Result<Json<Vec<AliasView>>, ApiError> {
    editor(&state, &me).await?;
    let rows = omnisonic_store::news::aliases_of(&state.db, query.entity_id).await?;
    Ok(Json(rows.into_iter().map(AliasView::from).collect()))
}

/// Adds another name of a party, work or recording; the tagger matches it from the next item on (re-tag to
/// apply it to stored items).
#[utoipa::path(post, path = "/api/insight/aliases", tag = "insight", request_body = NewAliasRequest, responses(
    (status = 201, description = "Added", body = AliasView),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such entity", body = crate::Problem, content_type = "application/problem+json"),
    (status = 409, description = "The entity has this alias already", body = crate::Problem, content_type = "application/problem+json"),
    (status = 422, description = "Empty or over 500 characters, or an unknown entity type", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn create_alias(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    ApiJson(request): ApiJson<NewAliasRequest>,
) -> Result<(StatusCode, Json<AliasView>), ApiError> {
    editor(&state, &me).await?;
    let row = omnisonic_app::insight::aliases::add_alias(
        &state.app,
        &request.entity_type,
        request.entity_id,
        &request.alias,
        Some(me.user.id),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Removes an alias.
#[utoipa::path(delete, path = "/api/insight/aliases/{id}", tag = "insight", params(("id" = Uuid, Path, description = "alias id")), responses(
    (status = 204, description = "Removed"),
    (status = 401, description = "Not signed in", body = crate::Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an editor, or CSRF token missing", body = crate::Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such alias", body = crate::Problem, content_type = "application/problem+json"),
))]
pub async fn delete_alias(
    State(state): State<AppState>,
    ApiUser(me): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    editor(&state, &me).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(format!("alias {id}")))?;
    omnisonic_app::insight::aliases::remove_alias(&state.app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
