//! Studio pages: list and create sessions, a session with its tracks, edit a session, add and adjust tracks,
//! export mixdowns, delete.
//!
//! Every page needs a signed-in user (anonymous visitors are sent to sign-in and brought back). Anyone signed in
//! may look at a session; only its owner may change it — others get a read-only view and `403` on every write.
//!
//! Plain forms with POST → 303 redirect, so every flow works without JavaScript; htmx (`hx-boost`) only makes the
//! same requests without full page loads. A form with errors is answered 422 with the form re-rendered.
//!
//! This module holds the routes, the session page (which shows every resource) and the owner check; each
//! resource's forms and handlers have their own module: `sessions`, `tracks`, `exports`, `uploads`.

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

mod exports;
mod sessions;
mod tracks;
mod uploads;

use exports::*;
use sessions::*;
use tracks::*;
use uploads::*;

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

async fn to_list() -> Response {
    see_other("/studio".to_owned())
}

async fn to_detail(uri: Uri, Path(id): Path<String>) -> Response {
    match parse_id(&id) {
        Some(id) => see_other(format!("/studio/sessions/{id}")),
        None => not_found_page(&uri),
    }
}

fn see_other(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
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
