//! Rights-graph operations outside GraphQL: importing DDEX ERN deals as licenses (the license expiry is an
//! upkeep task of `omnisonic_app::maintenance`).

use anyhow::Context as _;
use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use omnisonic_domain::catalogue::{RecordingInput, WorkInput};
use omnisonic_domain::ddex;
use omnisonic_domain::license::{LicenseInput, RightsType};
use omnisonic_graphql::events;
use omnisonic_graphql::events::Events;
use omnisonic_store::{DatabaseConnection, StoreError, catalogue, licenses};
use std::path::Path;

/// Largest ERN file `import-ern` reads (a release message is tens of kilobytes; a whole catalogue a few MiB).
pub const MAX_ERN_BYTES: u64 = 64 * 1024 * 1024;

/// What an ERN import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErnSummary {
    /// Grants (recording × territory) the message holds after merging its deals.
    pub grants: usize,
    /// Recordings that were not in the catalogue yet.
    pub recordings_created: usize,
    /// Works created for recordings that had none.
    pub works_created: usize,
    /// Licenses created in force (active, or expired when already over).
    pub licenses_created: usize,
    /// Licenses that overlap an existing active one, stored as drafts for a person to resolve.
    pub drafts_for_conflicts: usize,
    /// Grants already imported before (same message, recording, territory and start).
    pub already_imported: usize,
    /// Worldwide grants with excluded territories, stored as drafts: a license here is worldwide or one
    /// territory, so a person decides how to split them.
    pub drafts_for_exclusions: usize,
    /// Grants refused by the license rules (named on standard error), e.g. a territory that is not a code.
    pub invalid: usize,
}

impl std::fmt::Display for ErnSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} grants: {} licenses created, {} drafts (overlapping active licenses), {} drafts (worldwide with \
             exclusions), {} invalid, {} already imported; {} new recordings, {} new works",
            self.grants,
            self.licenses_created,
            self.drafts_for_conflicts,
            self.drafts_for_exclusions,
            self.invalid,
            self.already_imported,
            self.recordings_created,
            self.works_created
        )
    }
}

/// Reads a DDEX ERN 3.4.1 NewReleaseMessage and stores each deal as a master-rights license to the message's
/// recipient, per recording and territory. Recordings the catalogue lacks are added, and a recording without a
/// work gets one of its title. An ERN end date is the last valid day, so a license ends the day after. Importing
/// the same message again changes nothing.
pub async fn import_ern(
    db: &DatabaseConnection,
    pubsub: &Events,
    path: &Path,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<ErnSummary> {
    let size = std::fs::metadata(path).with_context(|| format!("read {}", path.display()))?.len();
    anyhow::ensure!(size <= MAX_ERN_BYTES, "{} is {size} bytes; the limit is {MAX_ERN_BYTES}", path.display());
    let xml = std::fs::read_to_string(path).with_context(|| format!("read {} as UTF-8", path.display()))?;
    let message =
        ddex::parse(&xml).with_context(|| format!("{} is not a DDEX ERN message we can read", path.display()))?;
    let grants = message.grants();
    let mut summary = ErnSummary { grants: grants.len(), ..ErnSummary::default() };
    progress.set_length(grants.len() as u64);
    let mut works: std::collections::HashMap<String, uuid::Uuid> = std::collections::HashMap::new();
    for grant in &grants {
        let work_id = match works.get(&grant.isrc) {
            Some(id) => *id,
            None => {
                let id = work_for_recording(db, pubsub, grant, &mut summary).await?;
                works.insert(grant.isrc.clone(), id);
                id
            }
        };
        // The same rules as `createLicense`: territory codes, lengths, the size of `terms`.
        let input = LicenseInput {
            work_id,
            licensee: grant.licensee.clone(),
            territory: grant.territory.clone(),
            rights_type: Some(RightsType::Master),
            effective_from: midnight(grant.start).to_rfc3339(),
            expires_on: grant.end.map(|end| (midnight(end) + Days::days(1)).to_rfc3339()),
            terms: Some(grant.terms.clone()),
        };
        let license = match input.validate() {
            Ok(license) => license,
            Err(errors) => {
                eprintln!("skipping {} in {}: {errors}", grant.isrc, grant.territory.as_deref().unwrap_or("Worldwide"));
                summary.invalid += 1;
                progress.inc(1);
                continue;
            }
        };
        let key = source_key(&message.message_id, grant);
        // A license is worldwide or one territory: a worldwide deal with exclusions waits as a draft for a person.
        let excluded = grant.territory.is_none() && has_exclusions(&grant.terms);
        let outcome = match licenses::create_license(db, &license, excluded, Some(key.clone())).await {
            Ok(Some(row)) if excluded => Imported::Draft(row, &mut summary.drafts_for_exclusions),
            Ok(Some(row)) => Imported::Created(row),
            Ok(None) => Imported::Already,
            Err(StoreError::LicenseConflict { .. }) => {
                match licenses::create_license(db, &license, true, Some(key)).await? {
                    Some(row) => Imported::Draft(row, &mut summary.drafts_for_conflicts),
                    None => Imported::Already,
                }
            }
            Err(err) => return Err(err.into()),
        };
        let row = match outcome {
            Imported::Created(row) => {
                summary.licenses_created += 1;
                row
            }
            Imported::Draft(row, count) => {
                *count += 1;
                row
            }
            Imported::Already => {
                summary.already_imported += 1;
                progress.inc(1);
                continue;
            }
        };
        events::publish(pubsub, &[events::license_work(row.work_id)], &row).await;
        progress.inc(1);
    }
    Ok(summary)
}

/// What happened to one grant: created in force, kept as a draft (counted in the given tally), or found from an
/// earlier import.
enum Imported<'a> {
    Created(omnisonic_store::entities::license::Model),
    Draft(omnisonic_store::entities::license::Model, &'a mut usize),
    Already,
}

/// Where an imported license came from; importing the same grant again finds it. Long message ids are hashed so
/// the key fits its column.
fn source_key(message_id: &str, grant: &ddex::Grant) -> String {
    let key =
        format!("ddex:{message_id}:{}:{}:{}", grant.isrc, grant.territory.as_deref().unwrap_or("WW"), grant.start);
    if key.len() <= 255 {
        return key;
    }
    use sha2::Digest;
    format!("ddex:sha256:{}", omnisonic_domain::ledger::to_hex(&sha2::Sha256::digest(key.as_bytes()).into()))
}

/// Whether any merged deal of a grant excluded territories.
fn has_exclusions(terms: &serde_json::Value) -> bool {
    terms["deals"].as_array().is_some_and(|deals| {
        deals.iter().any(|d| d["excludedTerritories"].as_array().is_some_and(|list| !list.is_empty()))
    })
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The work a granted recording records: the catalogue's link, else a new work of the recording's title.
async fn work_for_recording(
    db: &DatabaseConnection,
    pubsub: &Events,
    grant: &ddex::Grant,
    summary: &mut ErnSummary,
) -> anyhow::Result<uuid::Uuid> {
    let isrc = omnisonic_domain::Isrc::parse(&grant.isrc).with_context(|| format!("ISRC {:?}", grant.isrc))?;
    let recording = match catalogue::recording_by_isrc(db, isrc.as_str()).await? {
        Some(existing) => existing,
        None => {
            let input = RecordingInput {
                isrc: grant.isrc.clone(),
                title: grant.recording_title.clone(),
                artist: grant.artist.clone().unwrap_or_else(|| "Unknown artist".to_owned()),
                duration_seconds: grant.duration_seconds.map(i64::from),
                ..RecordingInput::default()
            };
            let new = input.validate().map_err(|e| anyhow::anyhow!("recording {}: {e}", grant.isrc))?;
            summary.recordings_created += 1;
            catalogue::upsert_recording(db, &new).await?.0
        }
    };
    if let Some(work_id) = recording.work_id {
        return Ok(work_id);
    }
    let work = WorkInput { title: grant.recording_title.clone(), ..WorkInput::default() }
        .validate()
        .map_err(|e| anyhow::anyhow!("work for {}: {e}", grant.isrc))?;
    let work = catalogue::create_work(db, &work).await?;
    let linked = catalogue::set_recording_work(db, recording.id, Some(work.id)).await?;
    summary.works_created += 1;
    events::publish(pubsub, &[events::recording(linked.id)], &linked).await;
    Ok(work.id)
}
