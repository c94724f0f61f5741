//! Batch loaders: each key type answers a whole page of parents in one statement.
//!
//! Connections also *prefetch*: when a page of recordings or works is read, the resolver looks ahead at the
//! selection and loads the children it asks for (contributions, their parties, works) in one statement per kind,
//! feeding the request's loader cache. The statement count is then fixed by the query's shape, not by how the
//! DataLoader's batching window happens to fall.

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use omnisonic_store::entities::{contribution, party, recording, work};
use omnisonic_store::{DatabaseConnection, StoreError, catalogue};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The request-scoped loader, with a per-request cache so prefetched rows are served without a query.
pub type Loaders = DataLoader<CatalogueLoader, HashMapCache>;

/// Which children of a page the query selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted {
    /// The page's contributions.
    pub contributions: bool,
    /// The parties of those contributions.
    pub parties: bool,
    /// The recordings' works.
    pub works: bool,
    /// The works' recordings.
    pub recordings: bool,
}

/// Runs the loader's own batch query for `keys` now and puts the answers in the request's cache, so that the
/// resolvers below find them there instead of waiting for a batching window.
async fn prime<K>(loader: &Loaders, keys: &[K]) -> Result<HashMap<K, <CatalogueLoader as Loader<K>>::Value>, LoadError>
where
    K: Copy + Eq + std::hash::Hash + Send + Sync + 'static,
    CatalogueLoader: Loader<K, Error = LoadError>,
{
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let found = loader.loader().load(keys).await?;
    loader.feed_many(found.iter().map(|(k, v)| (*k, v.clone()))).await;
    Ok(found)
}

/// Primes the parties of these contributions.
async fn prime_parties<'a>(
    loader: &Loaders,
    contributions: impl Iterator<Item = &'a contribution::Model>,
) -> Result<(), LoadError> {
    let mut keys: Vec<PartyKey> = contributions.map(|c| PartyKey(c.party_id)).collect();
    keys.sort_unstable_by_key(|k| k.0);
    keys.dedup();
    prime(loader, &keys).await.map(drop)
}

/// Primes the cache with what the query wants of a page of recordings.
pub async fn prefetch_for_recordings(
    loader: &Loaders,
    page: &[recording::Model],
    wanted: Wanted,
) -> Result<(), LoadError> {
    if wanted.contributions {
        let keys: Vec<RecordingContributions> = page.iter().map(|r| RecordingContributions(r.id)).collect();
        let found = prime(loader, &keys).await?;
        if wanted.parties {
            prime_parties(loader, found.values().flatten()).await?;
        }
    }
    if wanted.works {
        let keys: Vec<WorkKey> = page.iter().filter_map(|r| r.work_id).map(WorkKey).collect();
        prime(loader, &keys).await?;
    }
    Ok(())
}

/// Primes the cache with what the query wants of a page of works.
pub async fn prefetch_for_works(loader: &Loaders, page: &[work::Model], wanted: Wanted) -> Result<(), LoadError> {
    if wanted.contributions {
        let keys: Vec<WorkContributions> = page.iter().map(|w| WorkContributions(w.id)).collect();
        let found = prime(loader, &keys).await?;
        if wanted.parties {
            prime_parties(loader, found.values().flatten()).await?;
        }
    }
    if wanted.recordings {
        let keys: Vec<WorkRecordings> = page.iter().map(|w| WorkRecordings(w.id)).collect();
        prime(loader, &keys).await?;
    }
    Ok(())
}

/// A load failure, shared by every waiter of the batch.
pub type LoadError = Arc<StoreError>;

/// The one loader type; the key type picks the batch query.
pub struct CatalogueLoader {
    db: DatabaseConnection,
}

impl CatalogueLoader {
    /// A loader over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The licenses of a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkLicenses(pub Uuid);

/// Empties the loader's cache. A subscription's loader lives as long as the subscription, so it is cleared before
/// every event: each event must show the data as it is now, not as it was at the first one.
pub fn clear_all(loader: &Loaders) {
    loader.clear::<PartyKey>();
    loader.clear::<WorkKey>();
    loader.clear::<RecordingContributions>();
    loader.clear::<WorkContributions>();
    loader.clear::<WorkRecordings>();
    loader.clear::<WorkLicenses>();
}

/// A party by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartyKey(pub Uuid);
/// A work by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkKey(pub Uuid);
/// The contributions to a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordingContributions(pub Uuid);
/// The contributions to a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkContributions(pub Uuid);
/// The recordings of a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkRecordings(pub Uuid);

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().copied().map(f).collect()
}

/// Groups rows by a parent id, giving every requested key an entry (empty when it has no rows).
fn group<K: Copy + Eq + std::hash::Hash, R>(
    keys: &[K],
    key_of: impl Fn(Uuid) -> K,
    rows: Vec<R>,
    parent: impl Fn(&R) -> Option<Uuid>,
) -> HashMap<K, Vec<R>> {
    let mut map: HashMap<K, Vec<R>> = keys.iter().map(|&k| (k, Vec::new())).collect();
    for row in rows {
        if let Some(id) = parent(&row) {
            map.entry(key_of(id)).or_default().push(row);
        }
    }
    map
}

impl Loader<PartyKey> for CatalogueLoader {
    type Value = party::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[PartyKey]) -> Result<HashMap<PartyKey, Self::Value>, Self::Error> {
        let rows = catalogue::parties_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|r| (PartyKey(r.id), r)).collect())
    }
}

impl Loader<WorkKey> for CatalogueLoader {
    type Value = work::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[WorkKey]) -> Result<HashMap<WorkKey, Self::Value>, Self::Error> {
        let rows = catalogue::works_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|r| (WorkKey(r.id), r)).collect())
    }
}

impl Loader<RecordingContributions> for CatalogueLoader {
    type Value = Vec<contribution::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[RecordingContributions],
    ) -> Result<HashMap<RecordingContributions, Self::Value>, Self::Error> {
        let rows = catalogue::contributions_for_recordings(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, RecordingContributions, rows, |c| c.recording_id))
    }
}

impl Loader<WorkContributions> for CatalogueLoader {
    type Value = Vec<contribution::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[WorkContributions]) -> Result<HashMap<WorkContributions, Self::Value>, Self::Error> {
        let rows = catalogue::contributions_for_works(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, WorkContributions, rows, |c| c.work_id))
    }
}

impl Loader<WorkRecordings> for CatalogueLoader {
    type Value = Vec<recording::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[WorkRecordings]) -> Result<HashMap<WorkRecordings, Self::Value>, Self::Error> {
        let rows = catalogue::recordings_for_works(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, WorkRecordings, rows, |r| r.work_id))
    }
}

impl Loader<WorkLicenses> for CatalogueLoader {
    type Value = Vec<omnisonic_store::entities::license::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[WorkLicenses]) -> Result<HashMap<WorkLicenses, Self::Value>, Self::Error> {
        let rows = omnisonic_store::licenses::licenses_for_works(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(group(keys, WorkLicenses, rows, |l| Some(l.work_id)))
    }
}
