//! The root `Subscription` type: live changes over `graphql-transport-ws`.
//!
//! Each subscription listens on its pub/sub channel (in-process, or Redis across nodes) and turns every published
//! row into its GraphQL type; nested fields are resolved fresh for each event. How many subscriptions a
//! connection may hold is the transport's limit (`crates/web/src/graphql_ws.rs`).

use crate::error::{ErrorCode, coded};
use crate::events;
use crate::loaders::{Loaders, clear_all};
use crate::query::parse_id;
use crate::require_role;
use crate::rights::{CycleCheckpoint, LedgerEntry, License};
use crate::types::{Recording, Work};
use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use omnisonic_domain::account::StaffRole;
use omnisonic_store::Db;
use omnisonic_store::entities::{cycle_checkpoint, ledger_entry, license, recording, work};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Subscribes to `channel`: each published row becomes a `T` through `wrap`, with the subscription's loader
/// cache emptied first so nested fields show the data as it is now.
///
/// With `role`, the subscriber's role is checked again before each event, and the subscription ends when it is
/// gone: revoking a role also stops what it was watching.
async fn watch<R, T>(
    ctx: &Context<'_>,
    channel: String,
    wrap: fn(R) -> T,
    role: Option<StaffRole>,
) -> Result<impl Stream<Item = T> + Send + 'static + use<R, T>>
where
    R: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let recheck = match role {
        Some(role) => Some((require_role(ctx, role).await?, role, ctx.data_unchecked::<Db>().writer().clone())),
        None => None,
    };
    let loaders = ctx.data_opt::<Arc<Loaders>>().cloned();
    let pubsub = ctx.data_unchecked::<events::Events>();
    let rows = events::listen::<R>(pubsub, &channel).await.map_err(|err| {
        tracing::error!(error = %err, %channel, "could not subscribe");
        coded(ErrorCode::Internal, "could not subscribe; try again")
    })?;
    let still_allowed = move |row: R| {
        let recheck = recheck.clone();
        async move {
            let Some((user, role, db)) = recheck else { return Some(row) };
            let roles = omnisonic_store::auth::roles_of(&db, user).await.unwrap_or_default();
            roles.iter().any(|r| r == role.as_str()).then_some(row)
        }
    };
    Ok(rows.then(still_allowed).take_while(|row| std::future::ready(row.is_some())).filter_map(std::future::ready).map(
        move |row| {
            if let Some(loaders) = &loaders {
                clear_all(loaders);
            }
            wrap(row)
        },
    ))
}

fn optional_id(field: &str, id: Option<&ID>) -> Result<Option<uuid::Uuid>> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// Live changes.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Emits the work every time it changes: its fields, contributions or recordings.
    async fn work_updated(&self, ctx: &Context<'_>, work_id: ID) -> Result<impl Stream<Item = Work> + use<>> {
        let id = parse_id("workId", &work_id)?;
        watch(ctx, events::work(id), |row: work::Model| Work(row), None).await
    }

    /// Emits the recording every time it changes.
    async fn recording_updated(
        &self,
        ctx: &Context<'_>,
        recording_id: ID,
    ) -> Result<impl Stream<Item = Recording> + use<>> {
        let id = parse_id("recordingId", &recording_id)?;
        watch(ctx, events::recording(id), |row: recording::Model| Recording(row), None).await
    }

    /// Emits each new ledger entry of one cycle, or of every cycle when `cycleId` is omitted (accountants; the
    /// subscription ends if the role is taken away).
    async fn ledger_entry_created(
        &self,
        ctx: &Context<'_>,
        cycle_id: Option<ID>,
    ) -> Result<impl Stream<Item = LedgerEntry> + use<>> {
        let id = optional_id("cycleId", cycle_id.as_ref())?;
        watch(ctx, events::ledger_cycle(id), |row: ledger_entry::Model| LedgerEntry(row), Some(StaffRole::Accountant))
            .await
    }

    /// Emits the checkpoint when one cycle (or any, when `cycleId` is omitted) is closed (accountants).
    async fn cycle_checkpoint_closed(
        &self,
        ctx: &Context<'_>,
        cycle_id: Option<ID>,
    ) -> Result<impl Stream<Item = CycleCheckpoint> + use<>> {
        let id = optional_id("cycleId", cycle_id.as_ref())?;
        let wrap = |row: cycle_checkpoint::Model| CycleCheckpoint(row);
        watch(ctx, events::checkpoint(id), wrap, Some(StaffRole::Accountant)).await
    }

    /// Emits each news item as it is tagged (a new item, or a re-tagged one), with what it mentions; with
    /// `entityId`, only items that mention that entity.
    async fn news_item_tagged(
        &self,
        ctx: &Context<'_>,
        entity_id: Option<ID>,
    ) -> Result<impl Stream<Item = crate::news::NewsItemTagged> + use<>> {
        let entity = optional_id("entityId", entity_id.as_ref())?.map(|id| id.to_string());
        let pubsub = ctx.data_unchecked::<events::Events>();
        let channel = omnisonic_domain::channels::NEWS_TAGGED;
        let events = events::listen::<crate::news::NewsItemTagged>(pubsub, channel).await.map_err(|err| {
            tracing::error!(error = %err, channel, "could not subscribe");
            coded(ErrorCode::Internal, "could not subscribe; try again")
        })?;
        Ok(events.filter(move |event| {
            let wanted = entity.as_ref().is_none_or(|id| event.tags.iter().any(|t| t.entity_id.as_str() == id));
            std::future::ready(wanted)
        }))
    }

    /// Emits a work's license each time one is created, changed, activated, revoked or expired.
    async fn license_changed(&self, ctx: &Context<'_>, work_id: ID) -> Result<impl Stream<Item = License> + use<>> {
        let id = parse_id("workId", &work_id)?;
        watch(ctx, events::license_work(id), |row: license::Model| License(row), None).await
    }
}
