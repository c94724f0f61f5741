//! The home page and the Insight placeholder.

use super::{VERSION, page_error, render};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use omnisonic_store::studio::count_sessions;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home)).route("/insight", get(insight))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    section: &'static str,
    version: &'static str,
    session_count: u64,
    recording_count: u64,
}

async fn home(State(state): State<AppState>, uri: Uri) -> Response {
    let counts = async {
        let sessions = count_sessions(&state.db).await?;
        let recordings = omnisonic_store::catalogue::count_recordings(&state.db).await?;
        Ok::<_, omnisonic_store::StoreError>((sessions, recordings))
    };
    match counts.await {
        Ok((session_count, recording_count)) => {
            render(StatusCode::OK, &HomePage { section: "home", version: VERSION, session_count, recording_count })
        }
        Err(err) => page_error(err, &uri),
    }
}

#[derive(Template)]
#[template(path = "insight.html")]
struct InsightPage {
    section: &'static str,
    version: &'static str,
}

async fn insight() -> Response {
    render(StatusCode::OK, &InsightPage { section: "insight", version: VERSION })
}
