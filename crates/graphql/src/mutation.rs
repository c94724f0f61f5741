//! The root `Mutation` type. Every mutation checks who may do it first, writes in one store call (one
//! transaction), and publishes its change event only after that call has committed.

use crate::error::{bad_input, from_store};
use crate::events;
use crate::query::{db, parse_id};
use crate::require_role;
use crate::rights::{Cycle, CycleCheckpoint, EntryKind, LedgerEntry, License, RightsType};
use crate::types::{Contribution, Party, PartyKind, Recording, Role, Work};
use async_graphql::{Context, ID, InputObject, Json, Object, Result};
use chrono::NaiveDate;
use omnisonic_domain::ShareBps;
use omnisonic_domain::account::StaffRole;
use omnisonic_domain::catalogue::{RecordingInput as DomainRecording, WorkInput as DomainWork};
use omnisonic_domain::ledger::EntryInput;
use omnisonic_domain::license::{LicenseInput as DomainLicense, LicenseStatus};
use omnisonic_store::entities::{contribution, license};
use omnisonic_store::{catalogue, ledger, licenses};
use uuid::Uuid;

fn pubsub<'a>(ctx: &'a Context<'_>) -> &'a events::Events {
    ctx.data_unchecked::<events::Events>()
}

/// A work's fields.
#[derive(InputObject)]
pub struct WorkInput {
    /// Title (1–500 characters).
    pub title: String,
    /// ISWC in any accepted spelling.
    pub iswc: Option<String>,
    /// Genre labels.
    #[graphql(default)]
    pub genres: Vec<String>,
}

impl WorkInput {
    fn to_domain(&self) -> DomainWork {
        DomainWork { title: self.title.clone(), iswc: self.iswc.clone(), genres: self.genres.clone() }
    }
}

/// A recording's fields; the ISRC says which recording (created when new, replaced when known).
#[derive(InputObject)]
pub struct RecordingInput {
    /// ISRC in any accepted spelling.
    pub isrc: String,
    /// Title.
    pub title: String,
    /// Main artist credit.
    pub artist: String,
    /// Length in whole seconds.
    pub duration_seconds: Option<i32>,
    /// Release date, `YYYY-MM-DD` (or a bare year or month).
    pub released_at: Option<String>,
    /// Genre label.
    pub genre: Option<String>,
    /// The work it records; omit to leave the link as it is.
    pub work_id: Option<ID>,
}

/// A new contribution: a party's role and share in exactly one work or recording.
#[derive(InputObject)]
pub struct ContributionInput {
    /// The party.
    pub party_id: ID,
    /// The work (give this or `recordingId`).
    pub work_id: Option<ID>,
    /// The recording (give this or `workId`).
    pub recording_id: Option<ID>,
    /// The role.
    pub role: Role,
    /// Share in basis points (0–10,000); a role's shares on one work or recording total at most 10,000.
    pub share_bps: i32,
}

/// A contribution's new role and share.
#[derive(InputObject)]
pub struct ContributionUpdate {
    /// The role.
    pub role: Role,
    /// Share in basis points (0–10,000); a role's shares on one work or recording total at most 10,000.
    pub share_bps: i32,
}

/// A new royalty cycle.
#[derive(InputObject)]
pub struct CycleInput {
    /// A name people use, e.g. "2026 Q1".
    pub name: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
}

/// A new ledger entry.
#[derive(InputObject)]
pub struct LedgerEntryInput {
    /// The open cycle to add it to.
    pub cycle_id: ID,
    /// The party the money is for or charged to.
    pub party_id: ID,
    /// The work it concerns, if any.
    pub work_id: Option<ID>,
    /// The recording it concerns, if any (not both).
    pub recording_id: Option<ID>,
    /// What it records.
    pub kind: EntryKind,
    /// Amount in minor units as a decimal integer string (e.g. `"-1250"` is −12.50 EUR); non-zero, at most
    /// 10¹⁵ either way. A string because JSON numbers lose precision past 2⁵³.
    pub amount_minor: String,
    /// ISO 4217 code.
    pub currency: String,
    /// A note (at most 500 characters; not covered by the hash chain).
    pub memo: Option<String>,
}

/// Spec 2.2's license input.
#[derive(InputObject)]
pub struct LicenseInput {
    /// The licensed work.
    pub work_id: ID,
    /// Who it is granted to.
    pub licensee: String,
    /// ISO 3166-1 alpha-2 code; null (or `Worldwide`) for worldwide.
    pub territory: Option<String>,
    /// The right granted.
    pub rights_type: RightsType,
    /// Start: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time.
    pub effective_from: String,
    /// End (exclusive), after `effectiveFrom`; null for open-ended.
    pub expires_on: Option<String>,
    /// Free-form metadata (a JSON object, at most 16 KiB).
    pub terms: Option<Json<serde_json::Value>>,
}

impl LicenseInput {
    fn validate(&self) -> Result<omnisonic_domain::license::NewLicense> {
        let input = DomainLicense {
            work_id: parse_id("workId", &self.work_id)?,
            licensee: self.licensee.clone(),
            territory: self.territory.clone(),
            rights_type: Some(self.rights_type.to_domain()),
            effective_from: self.effective_from.clone(),
            expires_on: self.expires_on.clone(),
            terms: self.terms.as_ref().map(|t| t.0.clone()),
        };
        input.validate().map_err(|errors| from_store(errors.into()))
    }
}

fn optional_id(field: &str, id: Option<&ID>) -> Result<Option<Uuid>> {
    id.map(|id| parse_id(field, id)).transpose()
}

fn share(value: i32) -> Result<ShareBps> {
    ShareBps::new(i64::from(value)).map_err(|e| bad_input("shareBps", e))
}

/// Publishes a contribution's change to its work's or recording's subscribers. The write has committed, so a
/// failure here is logged, never reported as the mutation's: a client must not retry a write that stood.
async fn publish_contribution_target(ctx: &Context<'_>, row: &contribution::Model) {
    if let Some(work_id) = row.work_id {
        publish_work(ctx, work_id).await;
    }
    if let Some(recording_id) = row.recording_id {
        match catalogue::recordings_by_ids(db(ctx), &[recording_id]).await {
            Ok(rows) => publish_first(ctx, events::recording(recording_id), rows).await,
            Err(err) => tracing::warn!(error = ?err, "could not load a recording to publish its change"),
        }
    }
}

/// Publishes a work as it is now to its subscribers (after a committed write that changed it).
async fn publish_work(ctx: &Context<'_>, work_id: Uuid) {
    match catalogue::works_by_ids(db(ctx), &[work_id]).await {
        Ok(rows) => publish_first(ctx, events::work(work_id), rows).await,
        Err(err) => tracing::warn!(error = ?err, "could not load a work to publish its change"),
    }
}

/// Publishes the row just reloaded, if it still exists.
async fn publish_first<T: serde::Serialize>(ctx: &Context<'_>, channel: String, rows: Vec<T>) {
    if let Some(row) = rows.first() {
        events::publish(pubsub(ctx), &[channel], row).await;
    }
}

async fn publish_license(ctx: &Context<'_>, row: &license::Model) {
    events::publish(pubsub(ctx), &[events::license_work(row.work_id)], row).await;
}

/// Writes to the catalogue, the ledger and licenses.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a work (editors).
    async fn create_work(&self, ctx: &Context<'_>, input: WorkInput) -> Result<Work> {
        require_role(ctx, StaffRole::Editor).await?;
        let new = input.to_domain().validate().map_err(|e| from_store(e.into()))?;
        let work = catalogue::create_work(db(ctx), &new).await.map_err(from_store)?;
        events::publish(pubsub(ctx), &[events::work(work.id)], &work).await;
        Ok(Work(work))
    }

    /// Replaces a work's title, ISWC and genres (editors).
    async fn update_work(&self, ctx: &Context<'_>, id: ID, input: WorkInput) -> Result<Work> {
        require_role(ctx, StaffRole::Editor).await?;
        let id = parse_id("id", &id)?;
        let new = input.to_domain().validate().map_err(|e| from_store(e.into()))?;
        let work = catalogue::update_work(db(ctx), id, &new).await.map_err(from_store)?;
        events::publish(pubsub(ctx), &[events::work(work.id)], &work).await;
        Ok(Work(work))
    }

    /// Creates or replaces the recording with this ISRC, optionally linking it to a work (editors).
    async fn upsert_recording(&self, ctx: &Context<'_>, input: RecordingInput) -> Result<Recording> {
        require_role(ctx, StaffRole::Editor).await?;
        let work_id = optional_id("workId", input.work_id.as_ref())?;
        let domain = DomainRecording {
            isrc: input.isrc,
            title: input.title,
            artist: input.artist,
            duration_seconds: input.duration_seconds.map(i64::from),
            released_at: input.released_at,
            genre: input.genre,
        };
        let new = domain.validate().map_err(|e| from_store(e.into()))?;
        let upserted = catalogue::upsert_recording_linked(db(ctx), &new, work_id).await.map_err(from_store)?;
        let rec = upserted.recording;
        // The works it left and joined list their recordings, so both hear of it.
        let works: std::collections::BTreeSet<Uuid> =
            [upserted.previous_work_id, rec.work_id].into_iter().flatten().collect();
        for work in works {
            publish_work(ctx, work).await;
        }
        events::publish(pubsub(ctx), &[events::recording(rec.id)], &rec).await;
        Ok(Recording(rec))
    }

    /// Creates a party (editors).
    async fn create_party(&self, ctx: &Context<'_>, name: String, kind: PartyKind) -> Result<Party> {
        require_role(ctx, StaffRole::Editor).await?;
        let party = catalogue::create_party(db(ctx), &name, kind.to_domain()).await.map_err(from_store)?;
        Ok(Party(party))
    }

    /// Adds a party's share to a work or recording; refused when the role's shares would pass 100 % (editors).
    async fn add_contribution(&self, ctx: &Context<'_>, input: ContributionInput) -> Result<Contribution> {
        require_role(ctx, StaffRole::Editor).await?;
        let party = parse_id("partyId", &input.party_id)?;
        let target = match (
            optional_id("workId", input.work_id.as_ref())?,
            optional_id("recordingId", input.recording_id.as_ref())?,
        ) {
            (Some(work), None) => catalogue::ContributionTarget::Work(work),
            (None, Some(rec)) => catalogue::ContributionTarget::Recording(rec),
            _ => return Err(bad_input("workId", "give exactly one of workId and recordingId")),
        };
        let row = catalogue::add_contribution(db(ctx), party, target, input.role.to_domain(), share(input.share_bps)?)
            .await
            .map_err(from_store)?;
        publish_contribution_target(ctx, &row).await;
        Ok(Contribution(row))
    }

    /// Changes a contribution's role and share; refused when the role's shares would pass 100 % (editors).
    async fn update_contribution(&self, ctx: &Context<'_>, id: ID, input: ContributionUpdate) -> Result<Contribution> {
        require_role(ctx, StaffRole::Editor).await?;
        let id = parse_id("id", &id)?;
        let row = catalogue::update_contribution(db(ctx), id, input.role.to_domain(), share(input.share_bps)?)
            .await
            .map_err(from_store)?;
        publish_contribution_target(ctx, &row).await;
        Ok(Contribution(row))
    }

    /// Opens a royalty cycle (accountants).
    async fn create_cycle(&self, ctx: &Context<'_>, input: CycleInput) -> Result<Cycle> {
        let user = require_role(ctx, StaffRole::Accountant).await?;
        let cycle = ledger::create_cycle(db(ctx), &input.name, input.period_start, input.period_end, Some(user))
            .await
            .map_err(from_store)?;
        Ok(Cycle(cycle))
    }

    /// Appends an entry to an open cycle (accountants).
    async fn create_ledger_entry(&self, ctx: &Context<'_>, input: LedgerEntryInput) -> Result<LedgerEntry> {
        let user = require_role(ctx, StaffRole::Accountant).await?;
        let cycle_id = parse_id("cycleId", &input.cycle_id)?;
        let amount_minor = input
            .amount_minor
            .trim()
            .parse::<i64>()
            .map_err(|_| bad_input("amountMinor", "must be a whole number of minor units, e.g. \"1250\""))?;
        let entry = EntryInput {
            party_id: parse_id("partyId", &input.party_id)?,
            work_id: optional_id("workId", input.work_id.as_ref())?,
            recording_id: optional_id("recordingId", input.recording_id.as_ref())?,
            kind: input.kind.to_domain().as_str().to_owned(),
            amount_minor,
            currency: input.currency,
            memo: input.memo,
        }
        .validate()
        .map_err(|e| from_store(e.into()))?;
        let row = ledger::append_entry(db(ctx), cycle_id, &entry, Some(user)).await.map_err(from_store)?;
        events::publish(pubsub(ctx), &[events::ledger_cycle(Some(cycle_id)), events::ledger_cycle(None)], &row).await;
        Ok(LedgerEntry(row))
    }

    /// Closes a cycle: freezes its totals and chain hash in a checkpoint; no entry can be added after (accountants).
    async fn close_cycle(&self, ctx: &Context<'_>, id: ID) -> Result<CycleCheckpoint> {
        let user = require_role(ctx, StaffRole::Accountant).await?;
        let id = parse_id("id", &id)?;
        let (_cycle, checkpoint) = ledger::close_cycle(db(ctx), id, Some(user)).await.map_err(from_store)?;
        events::publish(pubsub(ctx), &[events::checkpoint(Some(id)), events::checkpoint(None)], &checkpoint).await;
        Ok(CycleCheckpoint(checkpoint))
    }

    /// Creates a license: in force unless `draft` (editors). An in-force license that overlaps an active one of
    /// the same work, right and territory (worldwide overlaps every territory) is refused with a `CONFLICT` error
    /// naming them.
    async fn create_license(
        &self,
        ctx: &Context<'_>,
        input: LicenseInput,
        #[graphql(desc = "Store it as a draft: in force only once activated (default false).")] draft: Option<bool>,
    ) -> Result<License> {
        let draft = draft.unwrap_or(false);
        require_role(ctx, StaffRole::Editor).await?;
        let new = input.validate()?;
        let row = licenses::create_license(db(ctx), &new, draft, None)
            .await
            .map_err(from_store)?
            .ok_or_else(|| crate::error::coded(crate::ErrorCode::Internal, "license not created"))?;
        publish_license(ctx, &row).await;
        Ok(License(row))
    }

    /// Replaces a draft or active license's fields (editors).
    async fn update_license(&self, ctx: &Context<'_>, id: ID, input: LicenseInput) -> Result<License> {
        require_role(ctx, StaffRole::Editor).await?;
        let id = parse_id("id", &id)?;
        let new = input.validate()?;
        let (before, after) = licenses::update_license(db(ctx), id, &new).await.map_err(from_store)?;
        if before.work_id != after.work_id {
            // The old work's subscribers learn the license left it: the row as it is now names its new work.
            events::publish(pubsub(ctx), &[events::license_work(before.work_id)], &after).await;
        }
        publish_license(ctx, &after).await;
        Ok(License(after))
    }

    /// Puts a draft license in force, checking for overlaps like `createLicense` (editors).
    async fn activate_license(&self, ctx: &Context<'_>, id: ID) -> Result<License> {
        require_role(ctx, StaffRole::Editor).await?;
        let id = parse_id("id", &id)?;
        let row = licenses::set_status(db(ctx), id, LicenseStatus::Active).await.map_err(from_store)?;
        publish_license(ctx, &row).await;
        Ok(License(row))
    }

    /// Revokes a draft or active license (editors).
    async fn revoke_license(&self, ctx: &Context<'_>, id: ID) -> Result<License> {
        require_role(ctx, StaffRole::Editor).await?;
        let id = parse_id("id", &id)?;
        let row = licenses::set_status(db(ctx), id, LicenseStatus::Revoked).await.map_err(from_store)?;
        publish_license(ctx, &row).await;
        Ok(License(row))
    }
}
