//! The one piece of shared state every handler sees.

use crate::auth::AuthRuntime;
use metrics_exporter_prometheus::PrometheusHandle;
use omnisonic_graphql::OmnisonicSchema;
use std::sync::Arc;

/// Services shared by all handlers; cheap to clone (everything inside is reference-counted).
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: omnisonic_store::Db,
    /// The GraphQL schema, built once.
    pub schema: OmnisonicSchema,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Sign-in configuration, provider client and rate limiters.
    pub auth: Arc<AuthRuntime>,
    /// Object storage for uploads.
    pub storage: omnisonic_platform::Storage,
    /// A CDN in front of the bucket (`STORAGE_CDN_URL`): download links point there instead of being signed.
    pub storage_cdn: Option<String>,
    /// The application layer's services: use-cases take this.
    pub app: omnisonic_app::Context,
    /// What only the web layer needs for background work.
    pub background: Background,
    /// Change events for GraphQL subscribers (the pub/sub behind the schema), for writes outside GraphQL.
    pub events: omnisonic_graphql::events::Events,
    /// Subscriptions shared by this node's WebSocket subscribers.
    pub subscription_groups: crate::subscription_groups::SubscriptionGroups,
}

/// Settings of the web layer's own background work.
#[derive(Clone)]
pub struct Background {
    /// Scratch space for probing uploaded audio when it becomes a track.
    pub scratch: std::path::PathBuf,
    /// Limits of bulk imports.
    pub bulk_import: BulkImportLimits,
}

/// `BULK_IMPORT_*` settings the web layer enforces.
#[derive(Clone, Copy, Debug)]
pub struct BulkImportLimits {
    /// `BULK_IMPORT_MAX_FILE_SIZE_MB`, in bytes.
    pub max_file_bytes: u64,
    /// `BULK_IMPORT_BATCH_SIZE`, recorded in each new job.
    pub batch_size: u32,
    /// `BULK_IMPORT_RATE_LIMIT_PER_HOUR`.
    pub per_hour: u32,
}

impl AppState {
    /// State over the application's services, with the GraphQL schema built on them.
    pub fn new(
        app: omnisonic_app::Context,
        metrics: PrometheusHandle,
        auth: Arc<AuthRuntime>,
        storage_cdn: Option<String>,
        background: Background,
    ) -> Self {
        let events = crate::graphql_events(app.pubsub.clone());
        let schema = omnisonic_graphql::build_schema(app.db.clone(), events.clone());
        Self {
            db: app.db.clone(),
            schema,
            metrics,
            auth,
            storage: app.storage.clone(),
            storage_cdn,
            app,
            background,
            events,
            subscription_groups: Default::default(),
        }
    }

    /// Publishes a realtime event to a studio session's room; a failure is logged, never the request's problem.
    pub async fn publish_to_session(&self, session_id: uuid::Uuid, event: &omnisonic_app::events::SessionEvent) {
        omnisonic_app::events::publish_to_session(&self.app.pubsub, session_id, event).await;
    }

    /// A download URL for a stored object: on the CDN when there is one, else presigned (S3) or signed by us
    /// (local), valid for [`crate::routes::uploads::DOWNLOAD_URL_TTL`].
    pub async fn download_url(&self, key: &str) -> Result<String, omnisonic_platform::StorageError> {
        if let Some(cdn) = &self.storage_cdn {
            return Ok(format!("{}/{key}", cdn.trim_end_matches('/')));
        }
        let base = self.auth.config.public_url.as_str();
        self.storage.download_url(key, base, crate::routes::uploads::DOWNLOAD_URL_TTL).await
    }
}
