//! The home page.

use super::{Chrome, page_error, render};
use crate::AppState;
use crate::auth::Viewer;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use omnisonic_store::studio::count_sessions;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    session_count: u64,
    recording_count: u64,
}

async fn home(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let counts = async {
        let sessions = count_sessions(&state.db).await?;
        let recordings = omnisonic_store::catalogue::count_recordings(&state.db).await?;
        Ok::<_, omnisonic_store::StoreError>((sessions, recordings))
    };
    match counts.await {
        Ok((session_count, recording_count)) => {
            render(StatusCode::OK, &HomePage { chrome: Chrome::new("home", &viewer), session_count, recording_count })
        }
        Err(err) => page_error(err, &uri),
    }
}
