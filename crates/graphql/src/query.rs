//! The root `Query` type.

use crate::error::{bad_input, from_store};
use crate::loaders::{Wanted, prefetch_for_recordings, prefetch_for_works};
use crate::types::{Party, Recording, Work, load_err, loader};
use crate::{MAX_PAGE_SIZE, SCAN_COST};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, Result};
use omnisonic_domain::Isrc;
use omnisonic_store::catalogue::{self, RecordingFilter};
use omnisonic_store::{DatabaseConnection, Db};
use uuid::Uuid;

/// The read side of the catalogue.
#[derive(Default)]
pub struct CatalogueQuery;

pub(crate) fn db<'a>(ctx: &'a Context<'_>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<Db>().writer()
}

pub(crate) fn parse_id(field: &str, id: &ID) -> Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| bad_input(field, format!("{:?} is not a valid id", id.as_str())))
}

/// Validates a plain list's `first` (1–[`MAX_PAGE_SIZE`], `default` when absent).
pub(crate) fn page_size(first: Option<i32>, default: i32) -> Result<u64> {
    let first = first.unwrap_or(default);
    if (1..=MAX_PAGE_SIZE).contains(&first) {
        Ok(first as u64)
    } else {
        Err(bad_input("first", format!("must be between 1 and {MAX_PAGE_SIZE}")))
    }
}

/// Validates `first` and decodes `after` into the id to continue after.
pub(crate) fn page_args(first: Option<i32>, after: Option<String>) -> Result<(u64, Option<Uuid>)> {
    let first = first.unwrap_or(20);
    if !(1..=MAX_PAGE_SIZE).contains(&first) {
        return Err(bad_input("first", format!("must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let after = after
        .map(|c| Uuid::parse_str(&c).map_err(|_| bad_input("after", "is not a cursor returned by this API")))
        .transpose()?;
    Ok((first as u64, after))
}

/// Builds a connection from `limit + 1` fetched rows: the extra row only tells whether a next page exists.
pub(crate) fn connection<R, N: async_graphql::OutputType>(
    mut rows: Vec<R>,
    limit: u64,
    had_cursor: bool,
    id_of: impl Fn(&R) -> Uuid,
    node: impl Fn(R) -> N,
) -> Connection<String, N> {
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let mut conn = Connection::new(had_cursor, has_next);
    conn.edges.extend(rows.into_iter().map(|r| Edge::new(id_of(&r).to_string(), node(r))));
    conn
}

#[Object]
impl CatalogueQuery {
    /// A work by id.
    async fn work(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Work>> {
        let id = parse_id("id", &id)?;
        Ok(catalogue::works_by_ids(db(ctx), &[id]).await.map_err(from_store)?.pop().map(Work))
    }

    /// Works in creation order, optionally filtered by a title substring.
    ///
    /// A substring search scans the table, so it costs [`SCAN_COST`] on top of the page.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity \
        + if search.is_some() { SCAN_COST } else { 0 }")]
    async fn works(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Case-insensitive title substring.")] search: Option<String>,
    ) -> Result<Connection<String, Work, EmptyFields, EmptyFields>> {
        let had_cursor = after.is_some();
        let (limit, after) = page_args(first, after)?;
        let rows = catalogue::list_works(db(ctx), search.as_deref(), after, limit + 1).await.map_err(from_store)?;
        let node = ctx.look_ahead().field("edges").field("node");
        let wanted = Wanted {
            contributions: node.field("contributions").exists(),
            parties: node.field("contributions").field("party").exists(),
            works: false,
            recordings: node.field("recordings").exists(),
        };
        let page = &rows[..rows.len().min(limit as usize)];
        prefetch_for_works(loader(ctx), page, wanted).await.map_err(load_err)?;
        Ok(connection(rows, limit, had_cursor, |r| r.id, Work))
    }

    /// A recording by id.
    async fn recording(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Recording>> {
        let id = parse_id("id", &id)?;
        Ok(catalogue::recordings_by_ids(db(ctx), &[id]).await.map_err(from_store)?.pop().map(Recording))
    }

    /// A recording by ISRC, in any accepted spelling (`US-RC1-13-01176`, `usrc11301176`, …).
    async fn recording_by_isrc(&self, ctx: &Context<'_>, isrc: String) -> Result<Option<Recording>> {
        let isrc = Isrc::parse(&isrc).map_err(|e| bad_input("isrc", e))?;
        Ok(catalogue::recording_by_isrc(db(ctx), isrc.as_str()).await.map_err(from_store)?.map(Recording))
    }

    /// Recordings in creation order, filtered by artist, genre and title.
    ///
    /// Artist and title are substring searches that scan the table: each costs [`SCAN_COST`] on top of the page.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, MAX_PAGE_SIZE) as usize * child_complexity \
        + if search.is_some() { SCAN_COST } else { 0 } + if artist.is_some() { SCAN_COST } else { 0 }")]
    async fn recordings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Case-insensitive artist substring.")] artist: Option<String>,
        #[graphql(desc = "Genre label (case-insensitive, exact).")] genre: Option<String>,
        #[graphql(desc = "Case-insensitive title substring.")] search: Option<String>,
    ) -> Result<Connection<String, Recording, EmptyFields, EmptyFields>> {
        let had_cursor = after.is_some();
        let (limit, after) = page_args(first, after)?;
        let filter = RecordingFilter { artist, genre, search };
        let rows = catalogue::list_recordings(db(ctx), &filter, after, limit + 1).await.map_err(from_store)?;
        let node = ctx.look_ahead().field("edges").field("node");
        let wanted = Wanted {
            contributions: node.field("contributions").exists(),
            parties: node.field("contributions").field("party").exists(),
            works: node.field("work").exists(),
            recordings: false,
        };
        let page = &rows[..rows.len().min(limit as usize)];
        prefetch_for_recordings(loader(ctx), page, wanted).await.map_err(load_err)?;
        Ok(connection(rows, limit, had_cursor, |r| r.id, Recording))
    }

    /// A party by id.
    async fn party(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Party>> {
        let id = parse_id("id", &id)?;
        Ok(catalogue::parties_by_ids(db(ctx), &[id]).await.map_err(from_store)?.pop().map(Party))
    }

    /// The signed-in user sending this request, or null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<crate::types::User>> {
        let Some(id) = ctx.data_opt::<crate::Actor>().and_then(|a| a.0) else { return Ok(None) };
        let db = ctx.data::<Db>()?.writer();
        let user = omnisonic_store::auth::get_user(db, id).await.map_err(from_store)?;
        Ok(user.map(crate::types::User::from))
    }

    /// The API's version, handy for checking which build answers.
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
