//! The catalogue browse page: recordings with their contributors, fetched through the GraphQL schema in-process,
//! so the page and API clients see exactly the same data and rules.

use super::{Chrome, render};
use crate::AppState;
use crate::auth::Viewer;
use askama::Template;
use async_graphql::{Request, Variables};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/catalogue", get(browse))
}

const PAGE_SIZE: i32 = 50;

const QUERY: &str = r#"query Browse($first: Int, $after: String, $artist: String, $genre: String, $search: String) {
  recordings(first: $first, after: $after, artist: $artist, genre: $genre, search: $search) {
    edges { node { id isrc title artist genre releasedAt work { id title } contributions { role shareBps party { name } } } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// The filters, from the query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    search: String,
    #[serde(default)]
    artist: String,
    #[serde(default)]
    genre: String,
    #[serde(default)]
    after: Option<String>,
}

impl Filters {
    /// The non-empty filters as `k=v&` pairs, percent-encoded, to carry into the next page's link.
    fn query_string(&self) -> String {
        [("search", &self.search), ("artist", &self.artist), ("genre", &self.genre)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}&", percent_encode(v)))
            .collect()
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct Data {
    recordings: Connection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    edges: Vec<EdgeData>,
    page_info: PageInfo,
}

#[derive(Deserialize)]
struct EdgeData {
    node: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    work: Option<WorkRef>,
    isrc: String,
    title: String,
    artist: String,
    genre: Option<String>,
    released_at: Option<String>,
    contributions: Vec<ContributionData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContributionData {
    role: String,
    share_bps: i32,
    party: PartyData,
}

#[derive(Deserialize)]
struct WorkRef {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct PartyData {
    name: String,
}

/// One table row.
pub(super) struct Row {
    id: String,
    work: Option<(String, String)>,
    isrc: String,
    title: String,
    artist: String,
    genre: Option<String>,
    released_at: Option<String>,
    contributors: String,
}

#[derive(Template)]
#[template(path = "catalogue/index.html")]
struct CataloguePage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<Row>,
    next_cursor: Option<String>,
    error: Option<String>,
}

fn describe(c: &ContributionData) -> String {
    let percent = f64::from(c.share_bps) / 100.0;
    format!("{} ({}, {percent}%)", c.party.name, c.role.to_lowercase())
}

async fn browse(State(state): State<AppState>, viewer: Viewer, Query(filters): Query<Filters>) -> Response {
    let blank_to_none = |s: &str| if s.trim().is_empty() { serde_json::Value::Null } else { s.trim().into() };
    let variables = serde_json::json!({
        "first": PAGE_SIZE,
        "after": filters.after,
        "artist": blank_to_none(&filters.artist),
        "genre": blank_to_none(&filters.genre),
        "search": blank_to_none(&filters.search),
    });
    let request = Request::new(QUERY).variables(Variables::from_json(variables));
    let response = state
        .schema
        .execute(omnisonic_graphql::prepare(request, &state.db, omnisonic_graphql::Actor(viewer.user_id())))
        .await;
    let mut page = CataloguePage {
        chrome: Chrome::new("catalogue", &viewer),
        filters,
        rows: Vec::new(),
        next_cursor: None,
        error: None,
    };
    if let Some(first) = response.errors.first() {
        let code = first.extensions.as_ref().and_then(|e| e.get("code")).cloned();
        if code == Some(async_graphql::Value::from(omnisonic_graphql::ErrorCode::BadUserInput.as_str())) {
            page.error = Some(first.message.clone());
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        tracing::error!(error = %first.message, "catalogue query failed");
        page.error = Some("The catalogue could not be loaded. Please try again.".to_owned());
        return render(StatusCode::INTERNAL_SERVER_ERROR, &page);
    }
    let data: Data = match response
        .data
        .into_json()
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
    {
        Ok(data) => data,
        Err(err) => {
            tracing::error!(error = %err, "catalogue query returned an unexpected shape");
            page.error = Some("The catalogue could not be loaded.".to_owned());
            return render(StatusCode::INTERNAL_SERVER_ERROR, &page);
        }
    };
    page.next_cursor = data.recordings.page_info.end_cursor.filter(|_| data.recordings.page_info.has_next_page);
    page.rows = data
        .recordings
        .edges
        .into_iter()
        .map(|e| Row {
            contributors: if e.node.contributions.is_empty() {
                "—".to_owned()
            } else {
                e.node.contributions.iter().map(describe).collect::<Vec<_>>().join(", ")
            },
            id: e.node.id,
            work: e.node.work.map(|w| (w.id, w.title)),
            isrc: e.node.isrc,
            title: e.node.title,
            artist: e.node.artist,
            genre: e.node.genre,
            released_at: e.node.released_at,
        })
        .collect();
    render(StatusCode::OK, &page)
}
