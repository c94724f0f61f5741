//! The one piece of shared state every handler sees.

use crate::auth::AuthRuntime;
use metrics_exporter_prometheus::PrometheusHandle;
use omnisonic_graphql::OmnisonicSchema;
use omnisonic_store::DatabaseConnection;
use std::sync::Arc;

/// Services shared by all handlers; cheap to clone (everything inside is reference-counted).
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The GraphQL schema, built once.
    pub schema: OmnisonicSchema,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Sign-in configuration, provider client and rate limiters.
    pub auth: Arc<AuthRuntime>,
}

impl AppState {
    /// State over `db`, with the schema built on it.
    pub fn new(db: DatabaseConnection, metrics: PrometheusHandle, auth: Arc<AuthRuntime>) -> Self {
        let schema = omnisonic_graphql::build_schema(db.clone());
        Self { db, schema, metrics, auth }
    }
}
