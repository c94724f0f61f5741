//! Live pages of the rights graph: a work (with its contributions, recordings and licenses), a recording, and the
//! royalty ledger's cycles. Each marks its live regions with `data-live-query`; `graphql-live.js` subscribes to
//! them over `/graphql/ws` and re-renders a region from this same page when an event arrives.

use super::{Chrome, forbidden_page, not_found_page, page_error, render};
use crate::AppState;
use crate::auth::Viewer;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use omnisonic_domain::account::StaffRole;
use omnisonic_store::entities::{contribution, cycle, cycle_checkpoint, ledger_entry, license, party, recording, work};
use omnisonic_store::{StoreError, catalogue, ledger, licenses};
use std::collections::HashMap;
use uuid::Uuid;

/// Entries a cycle page shows (the newest ones; the API pages through all of them).
const CYCLE_PAGE_ENTRIES: u64 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalogue/works/{id}", get(work_page))
        .route("/catalogue/recordings/{id}", get(recording_page))
        .route("/ledger", get(ledger_index))
        .route("/ledger/cycles/{id}", get(cycle_page))
}

/// One contribution as shown.
struct ContributionRow {
    party: String,
    role: String,
    share: String,
}

fn contribution_rows(rows: Vec<contribution::Model>, parties: &HashMap<Uuid, party::Model>) -> Vec<ContributionRow> {
    rows.into_iter()
        .map(|c| ContributionRow {
            party: parties.get(&c.party_id).map_or_else(|| "—".to_owned(), |p| p.name.clone()),
            role: c.role,
            share: format!("{}%", f64::from(c.share_bps) / 100.0),
        })
        .collect()
}

async fn parties_of(state: &AppState, rows: &[contribution::Model]) -> Result<HashMap<Uuid, party::Model>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|c| c.party_id).collect();
    Ok(catalogue::parties_by_ids(&state.db, &ids).await?.into_iter().map(|p| (p.id, p)).collect())
}

/// One license as shown.
struct LicenseRow {
    licensee: String,
    territory: String,
    rights_type: String,
    period: String,
    status: String,
}

impl From<license::Model> for LicenseRow {
    fn from(l: license::Model) -> Self {
        let until = l.expires_on.map_or_else(|| "open-ended".to_owned(), |t| t.format("%Y-%m-%d").to_string());
        Self {
            licensee: l.licensee,
            territory: l.territory.unwrap_or_else(|| "Worldwide".to_owned()),
            rights_type: l.rights_type,
            period: format!("{} – {until}", l.effective_from.format("%Y-%m-%d")),
            status: l.status,
        }
    }
}

#[derive(Template)]
#[template(path = "catalogue/work.html")]
struct WorkPage {
    chrome: Chrome,
    work: work::Model,
    genres: String,
    contributions: Vec<ContributionRow>,
    recordings: Vec<recording::Model>,
    licenses: Vec<LicenseRow>,
    /// News items mentioning the work (Insight), latest first.
    items: Vec<super::insight::ItemView>,
    /// Other names the tagger matches.
    aliases: super::insight::AliasBox,
}

async fn work_page(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return not_found_page(&uri) };
    let loaded = async {
        let work = catalogue::works_by_ids(&state.db, &[id])
            .await?
            .pop()
            .ok_or(StoreError::NotFound { entity: "work", id: id.to_string() })?;
        let contributions = catalogue::contributions_for_works(&state.db, &[id]).await?;
        let parties = parties_of(&state, &contributions).await?;
        let recordings = catalogue::recordings_for_works(&state.db, &[id]).await?;
        let licenses = licenses::licenses_for_works(&state.db, &[id]).await?;
        let items = super::insight::mentions(&state, id).await?;
        let aliases =
            super::insight::alias_box(&state, "work", id, super::insight::is_editor(&state, &viewer).await).await?;
        Ok::<_, StoreError>((work, contribution_rows(contributions, &parties), recordings, licenses, items, aliases))
    };
    match loaded.await {
        Ok((work, contributions, recordings, licenses, items, aliases)) => render(
            StatusCode::OK,
            &WorkPage {
                chrome: Chrome::new("catalogue", &viewer),
                genres: work.genre_list().join(", "),
                work,
                contributions,
                recordings,
                licenses: licenses.into_iter().map(LicenseRow::from).collect(),
                items,
                aliases,
            },
        ),
        Err(err) => page_error(err, &uri),
    }
}

#[derive(Template)]
#[template(path = "catalogue/recording.html")]
struct RecordingPage {
    chrome: Chrome,
    recording: recording::Model,
    work: Option<work::Model>,
    contributions: Vec<ContributionRow>,
    /// News items mentioning the recording (Insight), latest first.
    items: Vec<super::insight::ItemView>,
    /// Other names the tagger matches.
    aliases: super::insight::AliasBox,
}

async fn recording_page(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return not_found_page(&uri) };
    let loaded = async {
        let recording = catalogue::recordings_by_ids(&state.db, &[id])
            .await?
            .pop()
            .ok_or(StoreError::NotFound { entity: "recording", id: id.to_string() })?;
        let work = match recording.work_id {
            Some(w) => catalogue::works_by_ids(&state.db, &[w]).await?.pop(),
            None => None,
        };
        let contributions = catalogue::contributions_for_recordings(&state.db, &[id]).await?;
        let parties = parties_of(&state, &contributions).await?;
        let items = super::insight::mentions(&state, id).await?;
        let aliases =
            super::insight::alias_box(&state, "recording", id, super::insight::is_editor(&state, &viewer).await)
                .await?;
        Ok::<_, StoreError>((recording, work, contribution_rows(contributions, &parties), items, aliases))
    };
    match loaded.await {
        Ok((recording, work, contributions, items, aliases)) => render(
            StatusCode::OK,
            &RecordingPage {
                chrome: Chrome::new("catalogue", &viewer),
                recording,
                work,
                contributions,
                items,
                aliases,
            },
        ),
        Err(err) => page_error(err, &uri),
    }
}

/// The ledger is for accountants: anonymous visitors go to sign-in, others get a 403 page.
async fn require_accountant(state: &AppState, viewer: &Viewer, uri: &Uri) -> Result<(), Response> {
    let me = viewer.require_page(uri)?;
    match omnisonic_store::auth::roles_of(&state.db, me.user.id).await {
        Ok(roles) if roles.iter().any(|r| r == StaffRole::Accountant.as_str()) => Ok(()),
        Ok(_) => Err(forbidden_page(viewer, "The royalty ledger is for accountants.", "/catalogue".to_owned())),
        Err(err) => Err(page_error(err, uri)),
    }
}

#[derive(Template)]
#[template(path = "ledger/index.html")]
struct LedgerIndex {
    chrome: Chrome,
    cycles: Vec<cycle::Model>,
}

async fn ledger_index(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    if let Err(response) = require_accountant(&state, &viewer, &uri).await {
        return response;
    }
    match ledger::list_cycles(&state.db, None, 100).await {
        Ok(cycles) => render(StatusCode::OK, &LedgerIndex { chrome: Chrome::new("ledger", &viewer), cycles }),
        Err(err) => page_error(err, &uri),
    }
}

/// One entry as shown.
struct EntryRow {
    seq: i64,
    party: String,
    kind: String,
    amount: String,
    memo: String,
    created_at: String,
}

use omnisonic_domain::ledger::format_money as money;

#[derive(Template)]
#[template(path = "ledger/cycle.html")]
struct CyclePage {
    chrome: Chrome,
    cycle: cycle::Model,
    entries: Vec<EntryRow>,
    totals: Vec<(String, String)>,
    checkpoint: Option<cycle_checkpoint::Model>,
    verification: Option<omnisonic_domain::ledger::Verification>,
}

async fn cycle_page(State(state): State<AppState>, viewer: Viewer, uri: Uri, Path(id): Path<String>) -> Response {
    if let Err(response) = require_accountant(&state, &viewer, &uri).await {
        return response;
    }
    let Ok(id) = Uuid::parse_str(&id) else { return not_found_page(&uri) };
    let loaded = async {
        let cycle = ledger::cycles_by_ids(&state.db, &[id])
            .await?
            .pop()
            .ok_or(StoreError::NotFound { entity: "cycle", id: id.to_string() })?;
        let after = (cycle.entry_count - CYCLE_PAGE_ENTRIES as i64).max(0);
        let entries: Vec<ledger_entry::Model> =
            ledger::entries(&state.db, id, None, Some(after), CYCLE_PAGE_ENTRIES).await?;
        let party_ids: Vec<Uuid> = entries.iter().map(|e| e.party_id).collect();
        let parties: HashMap<Uuid, String> =
            catalogue::parties_by_ids(&state.db, &party_ids).await?.into_iter().map(|p| (p.id, p.name)).collect();
        let checkpoint = ledger::checkpoints_by_cycles(&state.db, &[id]).await?.pop();
        // Over every entry, not just the page's: the page shows the newest entries, the totals are the cycle's.
        let totals = match &checkpoint {
            Some(c) => ledger::checkpoint_totals(c),
            None => ledger::cycle_totals(&state.db, id).await?,
        };
        let verification = match &checkpoint {
            Some(c) => Some(ledger::verify(&state.db, c).await?),
            None => None,
        };
        Ok::<_, StoreError>((cycle, entries, parties, checkpoint, verification, totals))
    };
    let (cycle, entries, mut parties, checkpoint, verification, totals) = match loaded.await {
        Ok(found) => found,
        Err(err) => return page_error(err, &uri),
    };
    let missing: Vec<Uuid> = totals.iter().map(|t| t.party_id).filter(|p| !parties.contains_key(p)).collect();
    if !missing.is_empty()
        && let Ok(found) = catalogue::parties_by_ids(&state.db, &missing).await
    {
        parties.extend(found.into_iter().map(|p| (p.id, p.name)));
    }
    let name = |id: &Uuid| parties.get(id).cloned().unwrap_or_else(|| id.to_string());
    let page = CyclePage {
        chrome: Chrome::new("ledger", &viewer),
        totals: totals.iter().map(|t| (name(&t.party_id), money(t.amount_minor, &t.currency))).collect(),
        entries: entries
            .iter()
            .rev()
            .map(|e| EntryRow {
                seq: e.seq,
                party: name(&e.party_id),
                kind: e.kind.clone(),
                amount: money(e.amount_minor, &e.currency),
                memo: e.memo.clone().unwrap_or_default(),
                created_at: e.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            })
            .collect(),
        cycle,
        checkpoint,
        verification,
    };
    render(StatusCode::OK, &page)
}
