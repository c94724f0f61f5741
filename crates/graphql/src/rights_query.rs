//! The read side of the rights graph: licenses (public, like the catalogue) and the ledger (accountants only).

use crate::error::{bad_input, from_store};
use crate::query::{connection, db, page_args, parse_id};
use crate::rights::{
    CheckpointVerification, Cycle, LedgerEntry, License, LicenseConflict, Money, RightsType, Statement,
};
use crate::types::Party;
use crate::{MAX_PAGE_SIZE, require_role};
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};
use chrono::Utc;
use omnisonic_domain::account::StaffRole;
use omnisonic_domain::license::parse_territory;
use omnisonic_store::licenses::{self, LicenseFilter};
use omnisonic_store::{catalogue, ledger};

/// Queries over licenses and the ledger.
#[derive(Default)]
pub struct RightsQuery;

#[Object]
impl RightsQuery {
    /// Licenses of one work, or of every work, in creation order.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn licenses(
        &self,
        ctx: &Context<'_>,
        work_id: Option<ID>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, License, EmptyFields, EmptyFields>> {
        let had_cursor = after.is_some();
        let (limit, after) = page_args(first, after)?;
        let filter =
            LicenseFilter { work_id: work_id.map(|w| parse_id("workId", &w)).transpose()?, ..Default::default() };
        let rows = licenses::list_licenses(db(ctx), &filter, after, limit + 1).await.map_err(from_store)?;
        Ok(connection(rows, limit, had_cursor, |r| r.id, License))
    }

    /// A license by id.
    async fn license(&self, ctx: &Context<'_>, id: ID) -> Result<Option<License>> {
        let id = parse_id("id", &id)?;
        Ok(licenses::licenses_by_ids(db(ctx), &[id]).await.map_err(from_store)?.pop().map(License))
    }

    /// Licenses in force now, optionally for one work, covering one territory (its own and worldwide licenses)
    /// and for one right; at most 100 (`first`, default 50).
    async fn active_licenses(
        &self,
        ctx: &Context<'_>,
        work_id: Option<ID>,
        territory: Option<String>,
        rights_type: Option<RightsType>,
        first: Option<i32>,
    ) -> Result<Vec<License>> {
        let limit = crate::query::page_size(first, 50)?;
        let covering_territory = match territory {
            None => None,
            Some(t) => parse_territory(Some(&t)).map_err(|e| bad_input("territory", e))?,
        };
        let filter = LicenseFilter {
            work_id: work_id.map(|w| parse_id("workId", &w)).transpose()?,
            covering_territory,
            rights_type: rights_type.map(RightsType::to_domain),
            status: Some(omnisonic_domain::license::LicenseStatus::Active),
            in_force_at: Some(Utc::now()),
        };
        let rows = licenses::list_licenses(db(ctx), &filter, None, limit).await.map_err(from_store)?;
        Ok(rows.into_iter().map(License).collect())
    }

    /// Pairs of a work's active or draft licenses that overlap in territory, right and time; the first `first`
    /// (1–100, default 50) pairs.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn license_conflicts(
        &self,
        ctx: &Context<'_>,
        work_id: ID,
        first: Option<i32>,
    ) -> Result<Vec<LicenseConflict>> {
        let limit = crate::query::page_size(first, 50)?;
        let work_id = parse_id("workId", &work_id)?;
        let pairs = licenses::conflicts(db(ctx), work_id).await.map_err(from_store)?;
        Ok(pairs.into_iter().take(limit as usize).map(|(a, b)| LicenseConflict(a, b)).collect())
    }

    /// A royalty cycle by id (accountants only).
    async fn cycle(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Cycle>> {
        require_role(ctx, StaffRole::Accountant).await?;
        let id = parse_id("id", &id)?;
        Ok(ledger::cycles_by_ids(db(ctx), &[id]).await.map_err(from_store)?.pop().map(Cycle))
    }

    /// Royalty cycles, newest first (accountants only).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn cycles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Cycle, EmptyFields, EmptyFields>> {
        require_role(ctx, StaffRole::Accountant).await?;
        let had_cursor = after.is_some();
        let (limit, before) = page_args(first, after)?;
        let rows = ledger::list_cycles(db(ctx), before, limit + 1).await.map_err(from_store)?;
        Ok(connection(rows, limit, had_cursor, |r| r.id, Cycle))
    }

    /// One party's entries and totals in one cycle (accountants only).
    async fn statement(&self, ctx: &Context<'_>, cycle_id: ID, party_id: ID) -> Result<Option<Statement>> {
        require_role(ctx, StaffRole::Accountant).await?;
        let cycle_id = parse_id("cycleId", &cycle_id)?;
        let party_id = parse_id("partyId", &party_id)?;
        let db = db(ctx);
        let Some(cycle) = ledger::cycles_by_ids(db, &[cycle_id]).await.map_err(from_store)?.pop() else {
            return Ok(None);
        };
        let Some(party) = catalogue::parties_by_ids(db, &[party_id]).await.map_err(from_store)?.pop() else {
            return Ok(None);
        };
        let (entries, totals) = ledger::statement(db, cycle_id, party_id).await.map_err(from_store)?;
        Ok(Some(Statement {
            cycle: Cycle(cycle),
            party: Party(party),
            entries: entries.into_iter().map(LedgerEntry).collect(),
            totals: totals
                .into_iter()
                .map(|t| Money { amount_minor: t.amount_minor.to_string(), currency: t.currency })
                .collect(),
        }))
    }

    /// Checks a closed cycle's checkpoint against its entries as they are now; null while the cycle is open
    /// (accountants only). It reads every entry of the cycle, so it costs [`crate::SCAN_COST`].
    #[graphql(complexity = "crate::SCAN_COST + child_complexity")]
    async fn verify_checkpoint(&self, ctx: &Context<'_>, cycle_id: ID) -> Result<Option<CheckpointVerification>> {
        require_role(ctx, StaffRole::Accountant).await?;
        let cycle_id = parse_id("cycleId", &cycle_id)?;
        Ok(ledger::verify_checkpoint(db(ctx), cycle_id).await.map_err(from_store)?.map(CheckpointVerification::from))
    }
}
