//! Liveness, readiness and metrics.

use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long readiness waits for the database.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// A health answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
    /// The running version.
    pub version: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// Readiness: the database answers. Load balancers route traffic only to ready nodes.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Health),
    (status = 503, body = crate::Problem, content_type = "application/problem+json")
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // Probes give up after a few seconds; answer before they do rather than wait out the pool's acquire timeout.
    let ping = tokio::time::timeout(READY_TIMEOUT, omnisonic_store::ping(&state.db)).await;
    match ping {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = ?e, "readiness check failed");
            return Err(ApiError::Unavailable("the database is not reachable".to_owned()));
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            return Err(ApiError::Unavailable("the database did not answer within 2 s".to_owned()));
        }
    }
    Ok(Json(Health { status: "ready", version: env!("CARGO_PKG_VERSION") }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    record_job_counts(&state).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// `omnisonic_jobs{queue, state}`: the queues' contents when scraped (a gauge per queue and state).
async fn record_job_counts(state: &AppState) {
    for queue in omnisonic_app::jobs::QUEUES {
        match state.app.queue.counts(queue).await {
            Ok(counts) => {
                for job_state in omnisonic_platform::JobState::ALL {
                    let value = counts.of(job_state) as f64;
                    metrics::gauge!("omnisonic_jobs", "queue" => queue, "state" => job_state.as_str()).set(value);
                }
            }
            Err(err) => tracing::warn!(queue, error = &err as &dyn std::error::Error, "could not count jobs"),
        }
    }
}
