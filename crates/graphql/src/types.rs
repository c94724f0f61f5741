//! GraphQL object types over the store's rows.

use crate::error::from_store;
use crate::loaders::{Loaders, PartyKey, RecordingContributions, WorkContributions, WorkKey, WorkRecordings};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use omnisonic_domain::catalogue as domain;
use omnisonic_store::entities::{contribution, party, recording, work};
use std::sync::Arc;

/// The request's loader: its own for queries and mutations, or the subscription's shared one.
pub(crate) fn loader<'a>(ctx: &'a Context<'_>) -> &'a Loaders {
    match ctx.data_opt::<Loaders>() {
        Some(loader) => loader,
        None => ctx.data_unchecked::<Arc<Loaders>>(),
    }
}

pub(crate) fn load_err(err: Arc<omnisonic_store::StoreError>) -> async_graphql::Error {
    match Arc::try_unwrap(err) {
        Ok(err) => from_store(err),
        Err(shared) => {
            tracing::error!(error = ?shared, "batch load failed");
            crate::error::coded(crate::ErrorCode::Internal, "internal error")
        }
    }
}

/// Mirrors a domain `string_enum!` as a GraphQL enum, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident : $domain:ty { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            #[allow(dead_code)]
            pub(crate) fn from_stored(s: &str) -> Option<Self> {
                match <$domain>::parse(s)? { $(<$domain>::$variant => Some(Self::$variant)),+ }
            }

            #[allow(dead_code)]
            pub(crate) fn to_domain(self) -> $domain {
                match self { $(Self::$variant => <$domain>::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// The part a party played.
    Role: domain::Role {
        /// Wrote the music.
        Composer,
        /// Wrote the words.
        Lyricist,
        /// Publishes the work.
        Publisher,
        /// Performs on the recording.
        Performer,
        /// Produced the recording.
        Producer,
        /// Owns the master.
        Label,
    }
);

mirror_enum!(
    /// What kind of party this is.
    PartyKind: domain::PartyKind {
        /// A performing artist or group.
        Artist,
        /// A composer or lyricist.
        Writer,
        /// A music publisher.
        Publisher,
        /// A record label.
        Label,
    }
);

/// A sound recording, identified by its ISRC.
pub struct Recording(pub recording::Model);

#[Object]
impl Recording {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The compact ISRC, e.g. `USRC11301176`.
    async fn isrc(&self) -> &str {
        &self.0.isrc
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The main artist credit.
    async fn artist(&self) -> &str {
        &self.0.artist
    }
    async fn duration_seconds(&self) -> Option<i32> {
        self.0.duration_seconds
    }
    async fn released_at(&self) -> Option<NaiveDate> {
        self.0.released_at
    }
    async fn genre(&self) -> Option<&str> {
        self.0.genre.as_deref()
    }
    /// The work this recording records, when linked.
    async fn work(&self, ctx: &Context<'_>) -> Result<Option<Work>> {
        let Some(id) = self.0.work_id else { return Ok(None) };
        Ok(loader(ctx).load_one(WorkKey(id)).await.map_err(load_err)?.map(Work))
    }
    /// Who performed, produced or owns this recording, and their shares.
    async fn contributions(&self, ctx: &Context<'_>) -> Result<Vec<Contribution>> {
        let rows = loader(ctx).load_one(RecordingContributions(self.0.id)).await.map_err(load_err)?;
        Ok(rows.unwrap_or_default().into_iter().map(Contribution).collect())
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// News items mentioning this recording, newest first, at most `first` (1–100, default 10).
    #[graphql(complexity = "first.unwrap_or(10).clamp(0, crate::MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn mentions(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<crate::news::NewsItem>> {
        crate::news::mentions(ctx, self.0.id, first).await
    }
}

/// A musical work (composition).
pub struct Work(pub work::Model);

#[Object]
impl Work {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// ISWC in display form, e.g. `T-034.524.680-1`.
    async fn iswc(&self) -> Option<&str> {
        self.0.iswc.as_deref()
    }
    async fn genres(&self) -> Vec<String> {
        self.0.genre_list()
    }
    /// Writers and publishers with their shares.
    async fn contributions(&self, ctx: &Context<'_>) -> Result<Vec<Contribution>> {
        let rows = loader(ctx).load_one(WorkContributions(self.0.id)).await.map_err(load_err)?;
        Ok(rows.unwrap_or_default().into_iter().map(Contribution).collect())
    }
    /// Recordings of this work.
    async fn recordings(&self, ctx: &Context<'_>) -> Result<Vec<Recording>> {
        let rows = loader(ctx).load_one(WorkRecordings(self.0.id)).await.map_err(load_err)?;
        Ok(rows.unwrap_or_default().into_iter().map(Recording).collect())
    }
    /// Licenses granted on this work, oldest first (every status).
    async fn licenses(&self, ctx: &Context<'_>) -> Result<Vec<crate::rights::License>> {
        let rows = loader(ctx).load_one(crate::loaders::WorkLicenses(self.0.id)).await.map_err(load_err)?;
        Ok(rows.unwrap_or_default().into_iter().map(crate::rights::License).collect())
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// News items mentioning this work, newest first, at most `first` (1–100, default 10).
    #[graphql(complexity = "first.unwrap_or(10).clamp(0, crate::MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn mentions(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<crate::news::NewsItem>> {
        crate::news::mentions(ctx, self.0.id, first).await
    }
}

/// A party's part in a work or recording.
pub struct Contribution(pub contribution::Model);

#[Object]
impl Contribution {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn role(&self) -> Result<Role> {
        Role::from_stored(&self.0.role).ok_or_else(|| crate::error::coded(crate::ErrorCode::Internal, "unknown role"))
    }
    /// Share in basis points (10,000 = 100 %).
    async fn share_bps(&self) -> i32 {
        self.0.share_bps
    }
    async fn party(&self, ctx: &Context<'_>) -> Result<Party> {
        loader(ctx)
            .load_one(PartyKey(self.0.party_id))
            .await
            .map_err(load_err)?
            .map(Party)
            .ok_or_else(|| crate::error::coded(crate::ErrorCode::Internal, "contribution without party"))
    }
}

/// An artist, writer, publisher or label.
pub struct Party(pub party::Model);

#[Object]
impl Party {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Result<PartyKind> {
        PartyKind::from_stored(&self.0.kind)
            .ok_or_else(|| crate::error::coded(crate::ErrorCode::Internal, "unknown kind"))
    }
    /// Interested Party Information number.
    async fn ipi(&self) -> Option<&str> {
        self.0.ipi.as_deref()
    }
    /// International Standard Name Identifier.
    async fn isni(&self) -> Option<&str> {
        self.0.isni.as_deref()
    }
    /// What this party contributed, oldest first, at most `first` (1–100, default 50).
    ///
    /// A prolific party (a label, a producer) can have contributions on most of the catalogue, so this list is
    /// bounded and counted per item in the query's complexity, unlike the short per-work and per-recording lists.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, crate::MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn contributions(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<Contribution>> {
        let first = first.unwrap_or(50);
        if !(1..=crate::MAX_PAGE_SIZE).contains(&first) {
            return Err(crate::error::bad_input("first", format!("must be between 1 and {}", crate::MAX_PAGE_SIZE)));
        }
        let db = ctx.data_unchecked::<omnisonic_store::Db>().writer();
        let rows = omnisonic_store::catalogue::contributions_of_party(db, self.0.id, first as u64)
            .await
            .map_err(from_store)?;
        Ok(rows.into_iter().map(Contribution).collect())
    }
    /// News items mentioning this party, newest first, at most `first` (1–100, default 10).
    #[graphql(complexity = "first.unwrap_or(10).clamp(0, crate::MAX_PAGE_SIZE) as usize * child_complexity")]
    async fn mentions(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<crate::news::NewsItem>> {
        crate::news::mentions(ctx, self.0.id, first).await
    }
}

/// A signed-in user, as they see themselves.
#[derive(async_graphql::SimpleObject)]
pub struct User {
    /// User id.
    pub id: ID,
    /// Display name.
    pub name: Option<String>,
    /// Email address (only ever shown to the user themself).
    pub email: Option<String>,
}

impl From<omnisonic_store::entities::user::Model> for User {
    fn from(user: omnisonic_store::entities::user::Model) -> Self {
        Self { id: ID(user.id.to_string()), name: user.name, email: user.email }
    }
}
