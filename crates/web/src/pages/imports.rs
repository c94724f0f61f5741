//! Bulk import pages: `/imports` (your imports and the upload form) and `/imports/{id}` (one job, its progress
//! bar kept current by `assets/bulk-import.js` over the job's server-sent events), and `/settings/tokens`
//! (personal API tokens for machine clients).
//!
//! The upload form posts `multipart/form-data` to `POST /ingest/isrc/bulk` (the CSRF token is the form's first
//! field), which answers a browser's form with a 303 to the job's page; with JavaScript the same request goes
//! out with an upload progress bar.

use super::{Chrome, forbidden_page, not_found_page, page_error, render};
use crate::AppState;
use crate::auth::Viewer;
use crate::routes::bulk_import::{FIRST_ERRORS, ImportIssue};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use omnisonic_app::bulk_import::progress::JobProgress;
use omnisonic_store::bulk_imports as store;
use omnisonic_store::entities::{api_token, bulk_import_job};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/imports", get(list))
        .route("/imports/{id}", get(job))
        .route("/settings/tokens", get(tokens_page).post(create_token))
        .route("/settings/tokens/{id}/revoke", get(to_tokens).post(revoke_token))
}

/// A job as the pages show it.
struct JobRow {
    job: bulk_import_job::Model,
    progress: JobProgress,
}

impl JobRow {
    fn new(job: bulk_import_job::Model) -> Self {
        Self { progress: JobProgress::from(&job), job }
    }

    fn running(&self) -> bool {
        !store::Status::is_finished(&self.job.status)
    }
}

#[derive(Template)]
#[template(path = "imports/index.html")]
struct ImportsPage {
    chrome: Chrome,
    jobs: Vec<JobRow>,
    error: Option<String>,
    max_mb: u64,
    per_hour: u32,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    error: Option<String>,
}

async fn list(State(state): State<AppState>, viewer: Viewer, uri: Uri, Query(query): Query<ListQuery>) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me,
        Err(redirect) => return redirect,
    };
    let jobs = match store::jobs_of(&state.db, me.user.id, 50).await {
        Ok(jobs) => jobs,
        Err(err) => return page_error(err, &uri),
    };
    let limits = state.background.bulk_import;
    let page = ImportsPage {
        chrome: Chrome::new("imports", &viewer),
        jobs: jobs.into_iter().map(JobRow::new).collect(),
        error: query.error.map(|e| e.chars().take(500).collect()),
        max_mb: limits.max_file_bytes / (1024 * 1024),
        per_hour: limits.per_hour,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "imports/job.html")]
struct JobPage {
    chrome: Chrome,
    row: JobRow,
    issues: Vec<ImportIssue>,
    first_errors: u64,
}

async fn job(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me,
        Err(redirect) => return redirect,
    };
    let Ok(id) = Uuid::parse_str(&id) else { return not_found_page(&uri) };
    let job = match store::get_job(&state.db, id).await {
        Ok(Some(job)) => job,
        Ok(None) => return not_found_page(&uri),
        Err(err) => return page_error(err, &uri),
    };
    if !omnisonic_app::access::is_owner(&job, me.user.id) {
        return forbidden_page(&viewer, "This import belongs to another user.", "/imports".to_owned());
    }
    let issues = match store::issues_after(&state.db, job.id, (0, 0), FIRST_ERRORS).await {
        Ok(issues) => issues.into_iter().map(|(_, i)| i.into()).collect(),
        Err(err) => return page_error(err, &uri),
    };
    render(
        StatusCode::OK,
        &JobPage { chrome: Chrome::new("imports", &viewer), row: JobRow::new(job), issues, first_errors: FIRST_ERRORS },
    )
}

#[derive(Template)]
#[template(path = "settings/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<api_token::Model>,
    /// A token just made: shown this once.
    created: Option<String>,
    name: String,
    error: Option<String>,
}

async fn render_tokens(
    state: &AppState,
    viewer: &Viewer,
    uri: &Uri,
    status: StatusCode,
    created: Option<String>,
    name: String,
    error: Option<String>,
) -> Response {
    let Some(me) = &viewer.signed_in else { return crate::auth::redirect_to_sign_in(uri) };
    let tokens = match omnisonic_store::api_tokens::list(&state.db, me.user.id).await {
        Ok(tokens) => tokens,
        Err(err) => return page_error(err, uri),
    };
    // Like every page of a signed-in session it goes out `Cache-Control: private, no-store`, so a token shown
    // here is not kept in any cache.
    render(status, &TokensPage { chrome: Chrome::new("account", viewer), tokens, created, name, error })
}

/// Token management needs a signed-in browser: a request signed in by a token may not list, mint or revoke
/// tokens (a leaked token must not be able to mint its successor).
fn refuse_tokens(viewer: &Viewer) -> Option<Response> {
    viewer.signed_in.as_ref().filter(|me| me.via_token).map(|_| {
        forbidden_page(viewer, "API tokens are managed from a signed-in browser, not with a token.", "/".to_owned())
    })
}

async fn tokens_page(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    if let Err(redirect) = viewer.require_page(&uri) {
        return redirect;
    }
    if let Some(refused) = refuse_tokens(&viewer) {
        return refused;
    }
    render_tokens(&state, &viewer, &uri, StatusCode::OK, None, String::new(), None).await
}

#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Form(form): Form<TokenForm>,
) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me.clone(),
        Err(redirect) => return redirect,
    };
    if let Some(refused) = refuse_tokens(&viewer) {
        return refused;
    }
    let secret = match omnisonic_app::accounts::create_api_token(&state.db, me.user.id, &form.name).await {
        Ok((_, secret)) => secret,
        Err(omnisonic_app::AppError::Invalid(errors)) => {
            let reason = errors.reason_for("name").map(str::to_owned);
            return render_tokens(&state, &viewer, &uri, StatusCode::UNPROCESSABLE_ENTITY, None, form.name, reason)
                .await;
        }
        Err(err) => return super::app_error_page(err, &uri),
    };
    // Rendered, not redirected: the token must not travel in a URL, and it is shown only this once.
    render_tokens(&state, &viewer, &uri, StatusCode::OK, Some(secret), String::new(), None).await
}

async fn to_tokens() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/settings/tokens")]).into_response()
}

async fn revoke_token(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let me = match viewer.require_page(&uri) {
        Ok(me) => me,
        Err(redirect) => return redirect,
    };
    if let Some(refused) = refuse_tokens(&viewer) {
        return refused;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return not_found_page(&uri) };
    match omnisonic_store::api_tokens::revoke(&state.db, id, Some(me.user.id)).await {
        // Another user's token (or none): nothing changed, and the page says nothing about it.
        Ok(_) => to_tokens().await,
        Err(err) => page_error(err, &uri),
    }
}
