//! The OpenAPI document of every REST endpoint, served at `/openapi.json` with a vendored Swagger UI at `/docs`.

use crate::routes::{bulk_import, health, ingest, uploads};
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Omnisonic's REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Omnisonic API", description = "REST endpoints of Omnisonic. The catalogue's query API is GraphQL at /graphql (schema.graphql)."),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        ingest::ingest_isrc,
        bulk_import::create,
        bulk_import::show,
        bulk_import::error_report,
        bulk_import::events,
        uploads::create,
        uploads::show,
        uploads::remove,
        uploads::begin_direct,
        uploads::part_urls,
        uploads::complete_direct
    ),
    components(schemas(crate::Problem, health::Health, ingest::IsrcRecord, ingest::IngestedRecording, bulk_import::JobView, bulk_import::JobProgress, bulk_import::ImportIssue, uploads::UploadView, uploads::DirectStart, uploads::DirectUpload, uploads::PartUrl, uploads::PartRequest, uploads::SentPart, uploads::DirectComplete)),
    tags(
        (name = "ingest", description = "Getting recordings into the catalogue"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// `/openapi.json` and `/docs`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()).into()
}
