//! Health, readiness, metrics, request ids, OpenAPI and the error shape of unknown routes.

use crate::helpers::{both_backends, expect_problem};

both_backends! {
    async fn health_and_readiness(app: TestApp) {
        let live = app.get("/healthz").await;
        assert_eq!(live.status(), 200);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200);
        let body: serde_json::Value = ready.json().await.expect("json");
        assert_eq!(body["status"], "ready");
    }

    async fn every_response_carries_a_request_id(app: TestApp) {
        let generated = app.get("/healthz").await;
        let id = generated.headers().get("x-request-id").expect("generated id").to_str().expect("ascii").to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let echoed = app.client.get(app.url("/nope")).header("x-request-id", "trace-me-42").send().await.expect("GET");
        assert_eq!(echoed.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("trace-me-42"));
        // An id that could forge log fields, or is too long, is replaced by a fresh one.
        for hostile in ["a\" request_id=\"b", &"x".repeat(65)] {
            let replaced = app.client.get(app.url("/healthz")).header("x-request-id", hostile).send().await.expect("GET");
            let id = replaced.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            assert_eq!(id.len(), 36, "{hostile:?} was replaced by a UUID, got {id:?}");
        }
    }

    async fn metrics_count_requests_by_route(app: TestApp) {
        app.get("/healthz").await;
        let text = app.get("/metrics").await.text().await.expect("text");
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
        // The queues' contents, per queue and state (values are process-wide, so only the series are checked).
        for queue in ["exports", "bulk_imports", "maintenance"] {
            for state in ["queued", "running", "failed", "buried"] {
                let series = format!("omnisonic_jobs{{queue=\"{queue}\",state=\"{state}\"}}");
                assert!(text.contains(&series), "{series} missing: {text}");
            }
        }
    }

    async fn unknown_routes_and_methods_are_problems(app: TestApp) {
        expect_problem(app.get("/no/such/thing").await, 404, "not_found").await;
        let put = app.client.put(app.url("/healthz")).send().await.expect("PUT");
        expect_problem(put, 405, "method_not_allowed").await;
        let page = app.client.get(app.url("/no/such/page")).header("accept", "text/html").send().await.expect("GET");
        assert_eq!(page.status(), 404);
        assert!(page.text().await.expect("html").contains("<h1>Not found</h1>"));
    }

    async fn openapi_covers_every_rest_endpoint_and_docs_are_vendored(app: TestApp) {
        let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("openapi");
        // Every REST endpoint, exports included (they were once annotated but left out of the document).
        for path in [
            "/ingest/isrc", "/healthz", "/readyz", "/metrics", "/ingest/isrc/bulk", "/ingest/isrc/bulk/{id}",
            "/ingest/isrc/bulk/{id}/errors.csv", "/ingest/isrc/bulk/{id}/events", "/api/upload", "/api/upload/direct",
            "/api/upload/{id}", "/api/upload/{id}/parts", "/api/upload/{id}/complete", "/api/export",
            "/api/export/{id}", "/api/export/{id}/download",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing from OpenAPI");
        }
        let docs = app.get("/docs/").await;
        assert_eq!(docs.status(), 200);
        let html = docs.text().await.expect("html");
        assert!(!html.contains("https://") && !html.contains("http://"), "Swagger UI must not load from a CDN");
    }
}
