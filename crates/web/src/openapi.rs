//! The OpenAPI document of every REST endpoint, served at `/openapi.json` with a vendored Swagger UI at `/docs`.
//! The paths come from the REST router itself (`routes::rest`); this adds the title, tags and shared schemas.

use crate::routes::{bulk_import, exports, health, ingest, uploads};
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Omnisonic's REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Omnisonic API", description = "REST endpoints of Omnisonic. The catalogue's query API is GraphQL at /graphql (schema.graphql)."),
    components(schemas(crate::Problem, health::Health, ingest::IsrcRecord, ingest::IngestedRecording, bulk_import::JobView, omnisonic_app::bulk_import::progress::JobProgress, bulk_import::ImportIssue, uploads::UploadView, uploads::DirectStart, uploads::DirectUpload, uploads::PartUrl, uploads::PartRequest, uploads::SentPart, uploads::DirectComplete, exports::ExportRequest, exports::ExportView)),
    tags(
        (name = "ingest", description = "Getting recordings and news into the catalogue"),
        (name = "insight", description = "News feed sources (editors)"),
        (name = "uploads", description = "Audio and other files for studio sessions"),
        (name = "exports", description = "Mixdowns of studio sessions"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] with the REST router's paths.
pub fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    doc
}

/// `/openapi.json` and `/docs`, for the REST router's document `paths`.
pub fn router<S: Clone + Send + Sync + 'static>(paths: utoipa::openapi::OpenApi) -> Router<S> {
    SwaggerUi::new("/docs").url("/openapi.json", document(paths)).into()
}
