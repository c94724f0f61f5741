//! Insight pages: the latest news with the catalogue entities it mentions highlighted and linked (`/insight`,
//! public like the catalogue), a source's page, and the sources page where editors add, poll, pause and remove
//! feeds and start a re-tag.

use super::{Chrome, app_error_page, forbidden_page, not_found_page, page_error, render};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use omnisonic_domain::account::StaffRole;
use omnisonic_store::entities::{entity_tag, feed_source, news_item};
use omnisonic_store::news::{self, NewsFilter};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Items per page.
const PAGE_SIZE: u64 = 25;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/insight", get(index))
        .route("/insight/sources", get(sources).post(add_source))
        .route("/insight/sources/{id}", get(source_page))
        .route("/insight/sources/{id}/poll", post(poll_now))
        .route("/insight/sources/{id}/toggle", post(toggle))
        .route("/insight/sources/{id}/delete", post(delete))
        .route("/insight/retag", post(retag))
        .route("/insight/aliases", post(add_alias))
}

/// The "Other names" box of an entity: its aliases, and for editors a form to add one.
pub(crate) struct AliasBox {
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub names: Vec<String>,
    pub can_edit: bool,
}

/// Loads an entity's aliases for its page.
pub(crate) async fn alias_box(
    state: &AppState,
    entity_type: &'static str,
    entity_id: Uuid,
    can_edit: bool,
) -> Result<AliasBox, omnisonic_store::StoreError> {
    let names = news::aliases_of(&state.db, Some(entity_id)).await?.into_iter().map(|a| a.alias).collect();
    Ok(AliasBox { entity_type, entity_id, names, can_edit })
}

#[derive(Debug, Deserialize)]
struct AliasForm {
    #[serde(default)]
    entity_type: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    alias: String,
}

#[derive(Template)]
#[template(path = "insight/alias_error.html")]
struct AliasErrorPage {
    chrome: Chrome,
    reason: String,
    back: String,
}

/// Adds an alias from an entity's page, then goes back to it (a place derived from the entity, never from the
/// form, so the form cannot redirect anywhere else).
async fn add_alias(State(state): State<AppState>, viewer: Viewer, uri: Uri, Form(form): Form<AliasForm>) -> Response {
    let me = match require_editor(&state, &viewer, &uri).await {
        Ok(me) => me,
        Err(refused) => return refused,
    };
    let Ok(entity_id) = Uuid::parse_str(form.entity_id.trim()) else { return not_found_page(&uri) };
    let back = entity_link(&form.entity_type, entity_id).unwrap_or_else(|| "/insight".to_owned());
    let added = omnisonic_app::insight::aliases::add_alias(
        &state.app,
        &form.entity_type,
        entity_id,
        &form.alias,
        Some(me.user.id),
    )
    .await;
    let (status, reason) = match added {
        Ok(_) => return see_other(&back),
        Err(omnisonic_app::AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()),
        Err(omnisonic_app::AppError::Store(omnisonic_store::StoreError::Conflict { .. })) => {
            (StatusCode::CONFLICT, format!("{:?} is already a name of this entity.", form.alias.trim()))
        }
        Err(omnisonic_app::AppError::NotFound(what)) => (StatusCode::NOT_FOUND, format!("{what} does not exist.")),
        Err(err) => return app_error_page(err, &uri),
    };
    render(status, &AliasErrorPage { chrome: Chrome::new("insight", &viewer), reason, back })
}

/// One run of text: plain, or a tagged mention linked to its entity.
pub(crate) struct Segment {
    pub text: String,
    pub link: Option<String>,
    pub label: String,
}

/// A news item as pages show it.
pub(crate) struct ItemView {
    pub id: Uuid,
    pub url: Option<String>,
    pub title: Vec<Segment>,
    pub summary: Vec<Segment>,
    pub source: Option<(Uuid, String)>,
    pub published: String,
    pub published_iso: String,
    pub tags: Vec<TagView>,
}

/// A tag chip.
pub(crate) struct TagView {
    pub name: String,
    pub kind: &'static str,
    pub link: Option<String>,
    pub confidence: i16,
    pub method: String,
}

/// Where an entity's page is: works and recordings have one; parties are listed through the news filter.
fn entity_link(kind: &str, id: Uuid) -> Option<String> {
    match kind {
        "work" => Some(format!("/catalogue/works/{id}")),
        "recording" => Some(format!("/catalogue/recordings/{id}")),
        "party" => Some(format!("/insight?entity={id}")),
        _ => None,
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "party" => "artist",
        "work" => "work",
        "recording" => "recording",
        _ => "entity",
    }
}

/// Cuts `text` (which starts at byte `base` of the tagged text) into plain runs and tagged mentions.
fn segments(text: &str, base: usize, tags: &[entity_tag::Model], names: &HashMap<Uuid, String>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut sorted: Vec<&entity_tag::Model> = tags.iter().collect();
    sorted.sort_by_key(|t| t.start_offset);
    for tag in sorted {
        let (Ok(start), Ok(end)) = (usize::try_from(tag.start_offset), usize::try_from(tag.end_offset)) else {
            continue;
        };
        if start < base + at || end > base + text.len() || start >= end {
            continue;
        }
        let (start, end) = (start - base, end - base);
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        if start > at {
            out.push(Segment { text: text[at..start].to_owned(), link: None, label: String::new() });
        }
        let name = names.get(&tag.entity_id).cloned().unwrap_or_else(|| tag.matched_text.clone());
        out.push(Segment {
            text: text[start..end].to_owned(),
            link: entity_link(&tag.entity_type, tag.entity_id),
            label: format!("{} {} ({}% {})", kind_label(&tag.entity_type), name, tag.confidence, tag.method),
        });
        at = end;
    }
    if at < text.len() {
        out.push(Segment { text: text[at..].to_owned(), link: None, label: String::new() });
    }
    out
}

/// Loads tags, entity names and sources for `items` and builds their views.
pub(crate) async fn item_views(
    state: &AppState,
    items: Vec<news_item::Model>,
) -> Result<Vec<ItemView>, omnisonic_store::StoreError> {
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let tags = news::tags_of(&state.db, &ids).await?;
    let names = entity_names(state, &tags).await?;
    let sources: HashMap<Uuid, String> = omnisonic_store::feeds::list_sources(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.title.unwrap_or(s.url)))
        .collect();
    let mut by_item: HashMap<Uuid, Vec<entity_tag::Model>> = HashMap::new();
    for tag in tags {
        by_item.entry(tag.news_item_id).or_default().push(tag);
    }
    Ok(items
        .into_iter()
        .map(|item| {
            let tags = by_item.remove(&item.id).unwrap_or_default();
            let summary_base = item.title.len() + 2;
            let at = item.published_at.unwrap_or(item.fetched_at);
            let mut chips: Vec<TagView> = tags
                .iter()
                .map(|t| TagView {
                    name: names.get(&t.entity_id).cloned().unwrap_or_else(|| t.matched_text.clone()),
                    kind: kind_label(&t.entity_type),
                    link: entity_link(&t.entity_type, t.entity_id),
                    confidence: t.confidence,
                    method: t.method.clone(),
                })
                .collect();
            chips.sort_by(|a, b| b.confidence.cmp(&a.confidence).then_with(|| a.name.cmp(&b.name)));
            ItemView {
                id: item.id,
                url: item.url.clone(),
                title: segments(&item.title, 0, &tags, &names),
                summary: segments(&item.summary, summary_base, &tags, &names),
                source: item.source_id.and_then(|id| sources.get(&id).map(|name| (id, name.clone()))),
                published: at.format("%Y-%m-%d %H:%M").to_string(),
                published_iso: at.to_rfc3339(),
                tags: chips,
            }
        })
        .collect())
}

async fn entity_names(
    state: &AppState,
    tags: &[entity_tag::Model],
) -> Result<HashMap<Uuid, String>, omnisonic_store::StoreError> {
    let ids_of = |kind: &str| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = tags.iter().filter(|t| t.entity_type == kind).map(|t| t.entity_id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut names = HashMap::new();
    for party in omnisonic_store::catalogue::parties_by_ids(&state.db, &ids_of("party")).await? {
        names.insert(party.id, party.name);
    }
    for work in omnisonic_store::catalogue::works_by_ids(&state.db, &ids_of("work")).await? {
        names.insert(work.id, work.title);
    }
    for recording in omnisonic_store::catalogue::recordings_by_ids(&state.db, &ids_of("recording")).await? {
        names.insert(recording.id, format!("{} — {}", recording.title, recording.artist));
    }
    Ok(names)
}

/// The filters of `/insight`, from the query string (shareable).
#[derive(Debug, Default, Deserialize)]
struct NewsQuery {
    #[serde(default)]
    entity: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    min: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    /// The cursor: `<sort time in ms>_<id>` of the last item shown.
    #[serde(default)]
    before: Option<String>,
}

/// A filter as the form shows it back.
struct FilterForm {
    entity: String,
    kind: String,
    source: String,
    min: String,
    from: String,
    to: String,
}

fn parse_filter(query: &NewsQuery) -> (NewsFilter, FilterForm) {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let date = |v: &Option<String>| {
        v.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    };
    let kind = text(&query.kind);
    let filter = NewsFilter {
        entity_id: query.entity.as_deref().and_then(|e| Uuid::parse_str(e.trim()).ok()),
        entity_type: matches!(kind.as_str(), "party" | "work" | "recording").then(|| kind.clone()),
        source_id: query.source.as_deref().and_then(|s| Uuid::parse_str(s.trim()).ok()),
        min_confidence: query.min.as_deref().and_then(|m| m.trim().parse::<i16>().ok()).map(|m| m.clamp(0, 100)),
        from: date(&query.from),
        // "to" is inclusive in the form: items of that day are in.
        to: date(&query.to).map(|d| d + chrono::Duration::days(1)),
    };
    let form = FilterForm {
        entity: filter.entity_id.map(|e| e.to_string()).unwrap_or_default(),
        kind,
        source: filter.source_id.map(|s| s.to_string()).unwrap_or_default(),
        min: filter.min_confidence.map(|m| m.to_string()).unwrap_or_default(),
        from: text(&query.from),
        to: text(&query.to),
    };
    (filter, form)
}

fn parse_cursor(text: Option<&str>) -> Option<(DateTime<Utc>, Uuid)> {
    let (ms, id) = text?.split_once('_')?;
    Some((DateTime::from_timestamp_millis(ms.parse().ok()?)?, Uuid::parse_str(id).ok()?))
}

#[derive(Template)]
#[template(path = "insight/index.html")]
struct IndexPage {
    chrome: Chrome,
    items: Vec<ItemView>,
    filter: FilterForm,
    sources: Vec<(String, String)>,
    entity_name: Option<String>,
    next: Option<String>,
    is_editor: bool,
    aliases: Option<AliasBox>,
}

pub(crate) async fn is_editor(state: &AppState, viewer: &Viewer) -> bool {
    match viewer.user_id() {
        Some(user) => omnisonic_app::access::require_role(&state.db, user, StaffRole::Editor).await.is_ok(),
        None => false,
    }
}

async fn index(State(state): State<AppState>, viewer: Viewer, uri: Uri, Query(query): Query<NewsQuery>) -> Response {
    let (filter, form) = parse_filter(&query);
    let cursor = parse_cursor(query.before.as_deref());
    let is_editor = is_editor(&state, &viewer).await;
    let loaded = async {
        let rows = news::list_items(&state.db, &filter, cursor, PAGE_SIZE + 1).await?;
        let sources = omnisonic_store::feeds::list_sources(&state.db).await?;
        let entity = match filter.entity_id {
            Some(id) => {
                let parties = omnisonic_store::catalogue::parties_by_ids(&state.db, &[id]).await?;
                let works = omnisonic_store::catalogue::works_by_ids(&state.db, &[id]).await?;
                let recordings = omnisonic_store::catalogue::recordings_by_ids(&state.db, &[id]).await?;
                parties
                    .into_iter()
                    .map(|p| ("party", p.name))
                    .chain(works.into_iter().map(|w| ("work", w.title)))
                    .chain(recordings.into_iter().map(|r| ("recording", r.title)))
                    .next()
            }
            None => None,
        };
        let aliases = match (entity.as_ref(), filter.entity_id) {
            (Some((kind, _)), Some(id)) => Some(alias_box(&state, kind, id, is_editor).await?),
            _ => None,
        };
        Ok::<_, omnisonic_store::StoreError>((rows, sources, entity.map(|(_, name)| name), aliases))
    };
    let (mut rows, sources, entity_name, aliases) = match loaded.await {
        Ok(loaded) => loaded,
        Err(err) => return page_error(err, &uri),
    };
    let next = if rows.len() as u64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| {
            let mut params: Vec<(&str, String)> = Vec::new();
            for (key, value) in [
                ("entity", &form.entity),
                ("type", &form.kind),
                ("source", &form.source),
                ("min", &form.min),
                ("from", &form.from),
                ("to", &form.to),
            ] {
                if !value.is_empty() {
                    params.push((key, value.clone()));
                }
            }
            params.push(("before", format!("{}_{}", last.sort_at.timestamp_millis(), last.id)));
            let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            format!("/insight?{query}")
        })
    } else {
        None
    };
    let items = match item_views(&state, rows).await {
        Ok(items) => items,
        Err(err) => return page_error(err, &uri),
    };
    let sources = sources.into_iter().map(|s| (s.id.to_string(), s.title.unwrap_or(s.url))).collect();
    render(
        StatusCode::OK,
        &IndexPage {
            chrome: Chrome::new("insight", &viewer),
            items,
            filter: form,
            sources,
            entity_name,
            next,
            is_editor,
            aliases,
        },
    )
}

/// A source row on the sources page.
struct SourceRow {
    source: feed_source::Model,
    next_poll: String,
    last_polled: String,
}

#[derive(Template)]
#[template(path = "insight/sources.html")]
struct SourcesPage {
    chrome: Chrome,
    sources: Vec<SourceRow>,
    url: String,
    title: String,
    interval_minutes: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Editors only: anonymous visitors go to sign-in, others get a 403 page.
async fn require_editor(state: &AppState, viewer: &Viewer, uri: &Uri) -> Result<SignedIn, Response> {
    let me = viewer.require_page(uri)?.clone();
    match omnisonic_app::access::require_role(&state.db, me.user.id, StaffRole::Editor).await {
        Ok(()) => Ok(me),
        Err(omnisonic_app::AppError::Forbidden(_)) => {
            Err(forbidden_page(viewer, "Feed sources are managed by editors.", "/insight".to_owned()))
        }
        Err(err) => Err(app_error_page(err, uri)),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SourcesQuery {
    #[serde(default)]
    notice: Option<String>,
}

async fn sources(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(query): Query<SourcesQuery>,
) -> Response {
    if let Err(refused) = require_editor(&state, &viewer, &uri).await {
        return refused;
    }
    let notice = match query.notice.as_deref() {
        Some("added") => Some("Source added: it is polled within a minute.".to_owned()),
        Some("removed") => Some("Source removed; its items stay.".to_owned()),
        Some("retag") => Some("Re-tagging started: every item is tagged again with the current catalogue.".to_owned()),
        Some("polled") => Some("Polled.".to_owned()),
        _ => None,
    };
    render_sources(&state, &viewer, &uri, StatusCode::OK, String::new(), String::new(), String::new(), None, notice)
        .await
}

#[allow(clippy::too_many_arguments)]
async fn render_sources(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    status: StatusCode,
    url: String,
    title: String,
    interval_minutes: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    match omnisonic_store::feeds::list_sources(&state.db).await {
        Ok(rows) => {
            let sources = rows
                .into_iter()
                .map(|source| SourceRow {
                    next_poll: source.next_poll_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    last_polled: source
                        .last_polled_at
                        .map_or_else(|| "never".to_owned(), |at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                    source,
                })
                .collect();
            render(
                status,
                &SourcesPage {
                    chrome: Chrome::new("insight", viewer),
                    sources,
                    url,
                    title,
                    interval_minutes,
                    error,
                    notice,
                },
            )
        }
        Err(err) => page_error(err, uri),
    }
}

#[derive(Debug, Deserialize)]
struct SourceForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    interval_minutes: String,
}

async fn add_source(State(state): State<AppState>, viewer: Viewer, uri: Uri, Form(form): Form<SourceForm>) -> Response {
    let me = match require_editor(&state, &viewer, &uri).await {
        Ok(me) => me,
        Err(refused) => return refused,
    };
    let interval = match form.interval_minutes.trim() {
        "" => None,
        minutes => match minutes.parse::<u64>() {
            Ok(m) => Some(Duration::from_secs(m.saturating_mul(60))),
            Err(_) => {
                let error = Some("The interval must be a whole number of minutes.".to_owned());
                return render_sources(
                    &state,
                    &viewer,
                    &uri,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    form.url,
                    form.title,
                    form.interval_minutes,
                    error,
                    None,
                )
                .await;
            }
        },
    };
    let title = Some(form.title.clone()).filter(|t| !t.trim().is_empty());
    match omnisonic_app::insight::feeds::add_source(&state.app, &form.url, title, interval, Some(me.user.id)).await {
        Ok(_) => see_other("/insight/sources?notice=added"),
        Err(omnisonic_app::AppError::Invalid(errors)) => {
            let error = Some(errors.to_string());
            render_sources(
                &state,
                &viewer,
                &uri,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.url,
                form.title,
                form.interval_minutes,
                error,
                None,
            )
            .await
        }
        Err(omnisonic_app::AppError::Store(omnisonic_store::StoreError::Conflict { .. })) => {
            let error = Some("A source with this URL exists already.".to_owned());
            render_sources(
                &state,
                &viewer,
                &uri,
                StatusCode::CONFLICT,
                form.url,
                form.title,
                form.interval_minutes,
                error,
                None,
            )
            .await
        }
        Err(err) => app_error_page(err, &uri),
    }
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// The source an editor's form acts on: sign-in, the editor role, then the source (or the page that refuses).
async fn editors_source(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    id: &str,
) -> Result<feed_source::Model, Response> {
    require_editor(state, viewer, uri).await?;
    load_source(state, uri, id).await
}

async fn load_source(state: &AppState, uri: &Uri, id: &str) -> Result<feed_source::Model, Response> {
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found_page(uri)) };
    omnisonic_store::feeds::get_source(&state.db, id).await.map_err(|err| page_error(err, uri))
}

async fn poll_now(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let source = match editors_source(&state, &viewer, &uri, &id).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    match omnisonic_app::insight::feeds::poll_source(&state.app, &source).await {
        Ok(_) => see_other(&format!("/insight/sources/{}", source.id)),
        Err(err) => app_error_page(err, &uri),
    }
}

async fn toggle(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let source = match editors_source(&state, &viewer, &uri, &id).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    match omnisonic_app::insight::feeds::update_source(&state.app, source.id, None, Some(!source.enabled), None).await {
        Ok(_) => see_other("/insight/sources"),
        Err(err) => app_error_page(err, &uri),
    }
}

async fn delete(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let source = match editors_source(&state, &viewer, &uri, &id).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    match omnisonic_app::insight::feeds::remove_source(&state.app, source.id).await {
        Ok(()) => see_other("/insight/sources?notice=removed"),
        Err(err) => app_error_page(err, &uri),
    }
}

async fn retag(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    if let Err(refused) = require_editor(&state, &viewer, &uri).await {
        return refused;
    }
    match omnisonic_app::insight::retag::start(&state.app, Default::default()).await {
        Ok(_) => see_other("/insight/sources?notice=retag"),
        Err(err) => app_error_page(err, &uri),
    }
}

#[derive(Template)]
#[template(path = "insight/source.html")]
struct SourcePage {
    chrome: Chrome,
    source: feed_source::Model,
    items: Vec<ItemView>,
    is_editor: bool,
}

async fn source_page(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let source = match load_source(&state, &uri, &id).await {
        Ok(source) => source,
        Err(response) => return response,
    };
    let filter = NewsFilter { source_id: Some(source.id), ..Default::default() };
    let items = match news::list_items(&state.db, &filter, None, PAGE_SIZE).await {
        Ok(rows) => match item_views(&state, rows).await {
            Ok(items) => items,
            Err(err) => return page_error(err, &uri),
        },
        Err(err) => return page_error(err, &uri),
    };
    let is_editor = is_editor(&state, &viewer).await;
    render(StatusCode::OK, &SourcePage { chrome: Chrome::new("insight", &viewer), source, items, is_editor })
}

/// The latest items mentioning an entity, for the catalogue pages' "In the news" section.
pub(crate) async fn mentions(state: &AppState, entity: Uuid) -> Result<Vec<ItemView>, omnisonic_store::StoreError> {
    let filter = NewsFilter { entity_id: Some(entity), ..Default::default() };
    let rows = news::list_items(&state.db, &filter, None, 10).await?;
    item_views(state, rows).await
}
