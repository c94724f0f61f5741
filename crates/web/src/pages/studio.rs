//! Studio pages: list and create sessions, a session with its tracks, edit a session, add and adjust tracks,
//! export mixdowns, delete.
//!
//! Every page needs a signed-in user (anonymous visitors are sent to sign-in and brought back). Anyone signed in
//! may look at a session; only its owner may change it — others get a read-only view and `403` on every write.
//!
//! Plain forms with POST → 303 redirect, so every flow works without JavaScript; htmx (`hx-boost`) only makes the
//! same requests without full page loads. A form with errors is answered 422 with the form re-rendered.

use super::{Chrome, forbidden_page, not_found_page, page_error, render};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use omnisonic_app::events::SessionEvent;
use omnisonic_domain::ValidationErrors;
use omnisonic_domain::studio::{SAMPLE_RATES, StudioSessionInput, TrackInput};
use omnisonic_store::entities::{studio_session, track};
use omnisonic_store::studio as store;
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/studio", get(list))
        // The POST-only paths answer GET with a redirect to their page: that is where a visitor lands when a form
        // sent them to sign in and sign-in brings them back (with a GET).
        .route("/studio/sessions", get(to_list).post(create))
        .route("/studio/sessions/{id}", get(detail).post(update))
        .route("/studio/sessions/{id}/edit", get(edit))
        .route("/studio/sessions/{id}/tracks", get(to_detail).post(add_track))
        .route("/studio/sessions/{id}/tracks/{track_id}", get(to_detail_of_track).post(update_track))
        .route("/studio/sessions/{id}/exports", get(to_detail).post(create_export))
        .route("/studio/sessions/{id}/delete", get(to_detail).post(delete))
        .route("/studio/sessions/{id}/uploads/{upload_id}/delete", post(delete_upload))
}

/// A session form as submitted: every field a string, so bad numbers become field errors, not 400s.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct SessionForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    bpm: String,
    #[serde(default)]
    sample_rate: String,
}

/// What the session form template shows.
pub(super) struct SessionFormView {
    action: String,
    submit_label: &'static str,
    title: String,
    description: String,
    bpm: String,
    sample_rate: String,
    errors: ValidationErrors,
}

impl SessionForm {
    fn parse(&self) -> Result<omnisonic_domain::studio::StudioSessionFields, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let bpm = match self.bpm.trim() {
            "" => None,
            s => s.parse::<i32>().map_err(|_| errors.add("bpm", "must be a whole number")).ok(),
        };
        let sample_rate = self.sample_rate.trim().parse::<i32>().unwrap_or(0);
        let input = StudioSessionInput {
            title: self.title.clone(),
            description: Some(self.description.clone()),
            bpm,
            sample_rate,
        };
        match input.validate() {
            Ok(fields) if errors.is_empty() => Ok(fields),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.merge(errors);
                Err(more)
            }
        }
    }

    fn view(self, action: String, submit_label: &'static str, errors: ValidationErrors) -> SessionFormView {
        SessionFormView {
            action,
            submit_label,
            title: self.title,
            description: self.description,
            bpm: self.bpm,
            sample_rate: self.sample_rate,
            errors,
        }
    }

    fn from_session(s: &studio_session::Model) -> Self {
        Self {
            title: s.title.clone(),
            description: s.description.clone().unwrap_or_default(),
            bpm: s.bpm.map(|b| b.to_string()).unwrap_or_default(),
            sample_rate: s.sample_rate.to_string(),
        }
    }
}

async fn to_list() -> Response {
    see_other("/studio".to_owned())
}

async fn to_detail(uri: Uri, Path(id): Path<String>) -> Response {
    match parse_id(&id) {
        Some(id) => see_other(format!("/studio/sessions/{id}")),
        None => not_found_page(&uri),
    }
}

fn new_session_form() -> SessionForm {
    SessionForm { sample_rate: "48000".to_owned(), ..Default::default() }
}

fn see_other(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[derive(Template)]
#[template(path = "studio/list.html")]
struct ListPage {
    chrome: Chrome,
    sessions: Vec<studio_session::Model>,
    form: SessionFormView,
    sample_rates: &'static [i32],
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    me: &SignedIn,
    uri: &Uri,
    form: SessionFormView,
    status: StatusCode,
) -> Response {
    match store::list_sessions(&state.db, me.user.id).await {
        Ok(sessions) => render(
            status,
            &ListPage { chrome: Chrome::new("studio", viewer), sessions, form, sample_rates: SAMPLE_RATES },
        ),
        Err(err) => page_error(err, uri),
    }
}

async fn list(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    let form = new_session_form().view("/studio/sessions".into(), "Create session", ValidationErrors::default());
    list_page(&state, &viewer, &me, &uri, form, StatusCode::OK).await
}

async fn create(State(state): State<AppState>, viewer: Viewer, uri: Uri, Form(form): Form<SessionForm>) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    match form.parse() {
        Ok(fields) => match store::create_session(&state.db, me.user.id, &fields).await {
            Ok(session) => see_other(format!("/studio/sessions/{}", session.id)),
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => {
            let view = form.view("/studio/sessions".into(), "Create session", errors);
            list_page(&state, &viewer, &me, &uri, view, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// A track form as submitted.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct TrackForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    gain_db: String,
    #[serde(default)]
    pan: String,
    #[serde(default)]
    start_offset_samples: String,
    #[serde(default)]
    mute: Option<String>,
    #[serde(default)]
    solo: Option<String>,
    /// An upload of the owner's that the track plays.
    #[serde(default)]
    upload_id: Option<String>,
}

impl Default for TrackForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            gain_db: "0".into(),
            pan: "0".into(),
            start_offset_samples: "0".into(),
            mute: None,
            solo: None,
            upload_id: None,
        }
    }
}

impl TrackForm {
    fn parse(&self) -> Result<TrackInput, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut number = |field: &str, raw: &str| -> f64 {
            match raw.trim() {
                "" => 0.0,
                s => s.parse::<f64>().ok().filter(|v| v.is_finite()).unwrap_or_else(|| {
                    errors.add(field, "must be a number");
                    0.0
                }),
            }
        };
        let gain_db = number("gain_db", &self.gain_db);
        let pan = number("pan", &self.pan);
        let start_offset_samples = match self.start_offset_samples.trim() {
            "" => 0,
            s => s.parse::<i64>().unwrap_or_else(|_| {
                errors.add("start_offset_samples", "must be a whole number of samples");
                0
            }),
        };
        let input = TrackInput {
            name: self.name.clone(),
            gain_db,
            pan,
            mute: self.mute.is_some(),
            solo: self.solo.is_some(),
            start_offset_samples,
        };
        let validated = input.validate();
        match validated {
            Ok(t) if errors.is_empty() => Ok(t),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.merge(errors);
                Err(more)
            }
        }
    }
}

/// An upload as the session page lists it.
struct UploadItem {
    id: Uuid,
    file_name: String,
    size: String,
    mime_type: String,
    url: String,
    in_this_session: bool,
    /// The file name cut to a track name's length.
    track_name: String,
}

fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    } else if bytes >= 1024.0 {
        format!("{:.0} KB", bytes / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

#[derive(Template)]
#[template(path = "studio/detail.html")]
struct DetailPage {
    chrome: Chrome,
    session: studio_session::Model,
    uploads: Vec<UploadItem>,
    owner_name: String,
    is_owner: bool,
    tracks: Vec<track::Model>,
    track_form: TrackForm,
    track_errors: ValidationErrors,
    exports: Vec<ExportItem>,
    export_error: Option<String>,
}

/// An export as the session page lists it.
struct ExportItem {
    id: Uuid,
    created: String,
    label: String,
    status: String,
    progress: i32,
    size: String,
    error: String,
}

impl ExportItem {
    fn new(row: omnisonic_store::entities::export::Model) -> Self {
        let label = omnisonic_domain::export::ExportFormat::from_columns(&row.format, row.bit_depth, row.bitrate_kbps)
            .map_or_else(|| row.format.to_ascii_uppercase(), |format| format.label());
        Self {
            id: row.id,
            created: row.created_at.format("%Y-%m-%d %H:%M").to_string(),
            label,
            status: row.status,
            progress: row.progress,
            size: row.file_size.map(human_size).unwrap_or_default(),
            error: row.error_message.unwrap_or_default(),
        }
    }
}

/// What went wrong with a form on the session page, shown there (answered 422).
#[derive(Default)]
struct PageProblems {
    track: ValidationErrors,
    export: Option<String>,
}

async fn detail_page(
    state: &AppState,
    viewer: &Viewer,
    me: &SignedIn,
    uri: &Uri,
    id: Uuid,
    form: TrackForm,
    problems: PageProblems,
) -> Response {
    let PageProblems { track: errors, export: export_error } = problems;
    let status =
        if errors.is_empty() && export_error.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let loaded = async {
        let session = store::get_session(&state.db, id).await?;
        let owner = omnisonic_store::auth::get_user(&state.db, session.user_id).await?;
        let (uploads, exports) = if session.user_id == me.user.id {
            (
                omnisonic_store::uploads::list_uploads(&state.db, me.user.id).await?,
                omnisonic_store::exports::list_exports(&state.db, id).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let tracks = store::list_tracks(&state.db, id).await?;
        Ok::<_, omnisonic_store::StoreError>((session, owner, tracks, uploads, exports))
    };
    let (session, owner, tracks, uploads, exports) = match loaded.await {
        Ok(found) => found,
        Err(err) => return page_error(err, uri),
    };
    let mut items = Vec::with_capacity(uploads.len());
    for upload in uploads {
        let url = match state.download_url(&upload.storage_key).await {
            Ok(url) => url,
            Err(err) => {
                tracing::error!(error = %err, "download URL failed");
                String::new()
            }
        };
        items.push(UploadItem {
            id: upload.id,
            in_this_session: upload.session_id == Some(session.id),
            size: human_size(upload.file_size),
            track_name: upload.file_name.chars().take(omnisonic_domain::studio::MAX_NAME_CHARS).collect(),
            file_name: upload.file_name,
            mime_type: upload.mime_type,
            url,
        });
    }
    // Never another user's email address: their name, or a neutral label.
    let owner_name = match owner {
        Some(o) if o.id == me.user.id => me.display_name(),
        Some(o) => o.name.unwrap_or_else(|| "another user".to_owned()),
        None => "a former user".to_owned(),
    };
    render(
        status,
        &DetailPage {
            chrome: Chrome::new("studio", viewer),
            is_owner: session.user_id == me.user.id,
            owner_name,
            session,
            uploads: items,
            tracks,
            track_form: form,
            track_errors: errors,
            exports: exports.into_iter().map(ExportItem::new).collect(),
            export_error,
        },
    )
}

/// Parses a path id; a malformed one is simply a page that does not exist.
fn parse_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

async fn detail(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    let Some(id) = parse_id(&id) else { return not_found_page(&uri) };
    detail_page(&state, &viewer, &me, &uri, id, TrackForm::default(), PageProblems::default()).await
}

/// The signed-in owner and their session, or the response to give instead: sign-in redirect, 404, or 403 for
/// anybody but the owner.
async fn owned_session(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    raw_id: &str,
) -> Result<(SignedIn, studio_session::Model), Response> {
    let me = viewer.require_page(uri)?.clone();
    let id = parse_id(raw_id).ok_or_else(|| not_found_page(uri))?;
    let session = store::get_session(&state.db, id).await.map_err(|err| page_error(err, uri))?;
    if !omnisonic_app::access::is_owner(&session, me.user.id) {
        tracing::info!(user_id = %me.user.id, session_id = %id, "write to another user's studio session refused");
        return Err(forbidden_page(
            viewer,
            "Only the owner of this session can change it. You can still open it read-only.",
            format!("/studio/sessions/{id}"),
        ));
    }
    Ok((me, session))
}

#[derive(Template)]
#[template(path = "studio/edit.html")]
struct EditPage {
    chrome: Chrome,
    id: Uuid,
    original_title: String,
    form: SessionFormView,
    sample_rates: &'static [i32],
}

fn edit_page(
    viewer: &Viewer,
    session: studio_session::Model,
    form: Option<SessionForm>,
    errors: ValidationErrors,
) -> Response {
    let id = session.id;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = form.unwrap_or_else(|| SessionForm::from_session(&session));
    let view = form.view(format!("/studio/sessions/{id}"), "Save changes", errors);
    render(
        status,
        &EditPage {
            chrome: Chrome::new("studio", viewer),
            id,
            original_title: session.title,
            form: view,
            sample_rates: SAMPLE_RATES,
        },
    )
}

async fn edit(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => edit_page(&viewer, session, None, ValidationErrors::default()),
        Err(response) => response,
    }
}

async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<SessionForm>,
) -> Response {
    let session = match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => session,
        Err(response) => return response,
    };
    match form.parse() {
        Ok(fields) => match store::update_session(&state.db, session.id, &fields).await {
            Ok(saved) => {
                let data = serde_json::json!({
                    "sessionId": saved.id,
                    "title": saved.title,
                    "bpm": saved.bpm,
                    "sampleRate": saved.sample_rate,
                });
                state.publish_to_session(saved.id, &SessionEvent::SessionUpdated(data)).await;
                see_other(format!("/studio/sessions/{}", saved.id))
            }
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => edit_page(&viewer, session, Some(form), errors),
    }
}

async fn add_track(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<TrackForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let id = session.id;
    // A track may play one of the owner's uploads — never somebody else's.
    let upload = match form.upload_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(upload_id) => match omnisonic_store::uploads::get_upload(&state.db, upload_id).await {
                Ok(upload) if omnisonic_app::access::is_owner(&upload, me.user.id) => Some(upload),
                Ok(_) => {
                    return forbidden_page(
                        &viewer,
                        "That upload belongs to another user.",
                        format!("/studio/sessions/{id}"),
                    );
                }
                Err(err) => return page_error(err, &uri),
            },
            Err(_) => return not_found_page(&uri),
        },
    };
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            let problems = PageProblems { track: errors, export: None };
            return detail_page(&state, &viewer, &me, &uri, id, form, problems).await;
        }
    };
    let Some(upload) = upload else {
        return match store::add_track(&state.db, id, &input, None).await {
            Ok(track) => {
                track_changed(&state, &track, "added").await;
                see_other(format!("/studio/sessions/{id}#tracks-heading"))
            }
            Err(err) => page_error(err, &uri),
        };
    };
    // The audio is checked now, not at export time: a file that cannot be mixed is refused with the reason.
    let streams = match crate::audio::probe_upload(&state, &upload).await {
        Ok(streams) => streams,
        Err(crate::audio::ProbeFailure::NotAudio(reason)) => {
            let mut errors = ValidationErrors::default();
            errors.add("upload_id", format!("{} cannot be a track: {reason}", upload.file_name));
            let problems = PageProblems { track: errors, export: None };
            return detail_page(&state, &viewer, &me, &uri, id, TrackForm::default(), problems).await;
        }
        Err(crate::audio::ProbeFailure::Internal(err)) => {
            tracing::error!(error = %err, "could not probe an upload");
            return super::server_error_page();
        }
    };
    for planned in crate::audio::tracks_for(&input, &upload, &streams) {
        match store::add_track(&state.db, id, &planned.input, Some(planned.source)).await {
            Ok(track) => track_changed(&state, &track, "added").await,
            Err(err) => return page_error(err, &uri),
        }
    }
    see_other(format!("/studio/sessions/{id}#tracks-heading"))
}

/// Tells the session's room that a track changed.
async fn track_changed(state: &AppState, track: &track::Model, change: &str) {
    let data = serde_json::json!({
        "sessionId": track.session_id,
        "trackId": track.id,
        "change": change,
        "name": track.name,
        "gainDb": track.gain_db,
        "pan": track.pan,
        "mute": track.mute,
        "solo": track.solo,
        "startOffsetSamples": track.start_offset_samples,
    });
    state.publish_to_session(track.session_id, &SessionEvent::TrackUpdated(data)).await;
}

async fn to_detail_of_track(Path((id, _track)): Path<(String, String)>) -> Response {
    see_other(format!("/studio/sessions/{id}"))
}

/// Changes a track's mix settings (name, gain, pan, mute, solo, offset).
async fn update_track(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path((id, track_id)): Path<(String, String)>,
    Form(form): Form<TrackForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(track_id) = parse_id(&track_id) else { return not_found_page(&uri) };
    match store::get_track(&state.db, track_id).await {
        Ok(track) if track.session_id == session.id => {}
        Ok(_) => return not_found_page(&uri),
        Err(err) => return page_error(err, &uri),
    }
    match form.parse() {
        Ok(input) => match store::update_track(&state.db, track_id, &input).await {
            Ok(track) => {
                track_changed(&state, &track, "updated").await;
                see_other(format!("/studio/sessions/{}#track-{track_id}", session.id))
            }
            Err(err) => page_error(err, &uri),
        },
        Err(errors) => {
            let problems = PageProblems { track: errors, export: None };
            detail_page(&state, &viewer, &me, &uri, session.id, form, problems).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct ExportForm {
    #[serde(default)]
    format: String,
}

/// Asks for a mixdown from the session page (the owner's export button).
async fn create_export(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(id): Path<String>,
    Form(form): Form<ExportForm>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let format = omnisonic_domain::export::ExportFormat::from_choice(&form.format);
    match omnisonic_app::exports::request_export(&state.app, me.user.id, &session, format).await {
        Ok(_) => see_other(format!("/studio/sessions/{}#exports-heading", session.id)),
        Err(omnisonic_app::AppError::Invalid(errors)) => {
            let reason = errors.0.first().map_or("the export was refused", |e| e.reason.as_str()).to_owned();
            let problems = PageProblems { track: ValidationErrors::default(), export: Some(reason) };
            detail_page(&state, &viewer, &me, &uri, session.id, TrackForm::default(), problems).await
        }
        Err(err) => {
            tracing::error!(error = %err, "could not queue an export");
            super::server_error_page()
        }
    }
}

async fn delete_upload(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path((id, upload_id)): Path<(String, String)>,
) -> Response {
    let (me, session) = match owned_session(&state, &viewer, &uri, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(upload_id) = parse_id(&upload_id) else { return not_found_page(&uri) };
    let upload = match omnisonic_store::uploads::get_upload(&state.db, upload_id).await {
        Ok(upload) if omnisonic_app::access::is_owner(&upload, me.user.id) => upload,
        Ok(_) => {
            return forbidden_page(
                &viewer,
                "That upload belongs to another user.",
                format!("/studio/sessions/{}", session.id),
            );
        }
        Err(err) => return page_error(err, &uri),
    };
    let aborted = match upload.multipart_id.as_deref() {
        Some(multipart_id) => state.storage.abort_direct(&upload.storage_key, multipart_id).await,
        None => Ok(()),
    };
    if let Err(err) = aborted.and(state.storage.delete(&upload.storage_key).await) {
        tracing::error!(error = %err, "could not delete an upload's object");
        return super::server_error_page();
    }
    match omnisonic_store::uploads::delete_upload(&state.db, upload.id).await {
        Ok(()) => see_other(format!("/studio/sessions/{}#uploads-heading", session.id)),
        Err(err) => page_error(err, &uri),
    }
}

async fn delete(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let session = match owned_session(&state, &viewer, &uri, &id).await {
        Ok((_, session)) => session,
        Err(response) => return response,
    };
    match store::delete_session(&state.db, session.id).await {
        Ok(()) => see_other("/studio".to_owned()),
        Err(err) => page_error(err, &uri),
    }
}
