//! `POST /ingest/isrc`: validated upsert; every kind of bad input is a clear problem and writes nothing.

use crate::helpers::{both_backends, expect_problem};
use serde_json::json;

async fn count(app: &crate::helpers::TestApp) -> u64 {
    omnisonic_store::catalogue::count_recordings(&app.db).await.expect("count")
}

both_backends! {
    async fn search_folds_unicode_case_on_every_backend(app: TestApp) {
        app.sign_in("ingest@example.test").await;
        let created = app.post_json("/ingest/isrc", &json!({"isrc": "FRZ039800212", "title": "Désert", "artist": "Émilie Simon", "genre": "Électro"})).await;
        assert_eq!(created.status(), 201);
        let query = "query($a: String, $s: String, $g: String) { recordings(artist: $a, search: $s, genre: $g) { edges { node { isrc } } } }";
        for vars in [json!({"a": "émilie"}), json!({"a": "ÉMILIE SIMON"}), json!({"s": "DÉSERT"}), json!({"g": "électro"})] {
            let found = app.graphql(query, vars.clone()).await;
            assert_eq!(found["data"]["recordings"]["edges"].as_array().map(Vec::len), Some(1), "{vars}: {found}");
        }
    }

    async fn creates_then_updates_by_normalised_isrc(app: TestApp) {
        app.sign_in("ingest@example.test").await;
        let first = app
            .post_json("/ingest/isrc", &json!({"isrc": "ISRC US-RC1-13-01176", "title": "2 On", "artist": "Tinashe", "released_at": "2014-01-21", "duration": 200}))
            .await;
        assert_eq!(first.status(), 201);
        let created: serde_json::Value = first.json().await.expect("json");
        assert_eq!(created["isrc"], "USRC11301176");
        assert_eq!(created["created"], true);
        assert_eq!(created["duration_seconds"], 200);

        let second = app.post_json("/ingest/isrc", &json!({"isrc": "usrc11301176", "title": "2 On (Remix)", "artist": "Tinashe"})).await;
        assert_eq!(second.status(), 200);
        let updated: serde_json::Value = second.json().await.expect("json");
        assert_eq!(updated["id"], created["id"], "same recording");
        assert_eq!(updated["created"], false);
        assert_eq!(count(&app).await, 1);

        let found = app.graphql("query($i: String!) { recordingByIsrc(isrc: $i) { title artist } }", json!({"i": "US-RC1-13-01176"})).await;
        assert_eq!(found["data"]["recordingByIsrc"]["title"], "2 On (Remix)");
    }

    async fn invalid_fields_are_all_reported_and_nothing_is_written(app: TestApp) {
        app.sign_in("ingest@example.test").await;
        let response = app
            .post_json("/ingest/isrc", &json!({"isrc": "US-RC1-13-0117", "title": "  ", "artist": "x", "duration_seconds": 86401, "released_at": "2014-02-30"}))
            .await;
        let problem = expect_problem(response, 422, "validation_failed").await;
        let fields: Vec<&str> = problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, ["isrc", "title", "duration_seconds", "released_at"]);
        assert!(problem["errors"][0]["reason"].as_str().expect("reason").contains("12 characters"));
        assert_eq!(count(&app).await, 0);
    }

    async fn wrong_types_and_missing_fields_name_the_field(app: TestApp) {
        app.sign_in("ingest@example.test").await;
        let wrong_type = app.post_json("/ingest/isrc", &json!({"isrc": 42, "title": "t", "artist": "a"})).await;
        let problem = expect_problem(wrong_type, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "isrc");
        let missing = app.post_json("/ingest/isrc", &json!({"isrc": "USRC11301176", "title": "t"})).await;
        let problem = expect_problem(missing, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "artist", "{problem}");
        assert_eq!(problem["errors"][0]["reason"], "is required");
    }

    async fn malformed_json_wrong_media_type_and_oversized_bodies(app: TestApp) {
        app.sign_in("ingest@example.test").await;
        let malformed = app.browser.with_csrf_header(app.browser.client.post(app.url("/ingest/isrc"))).header("content-type", "application/json").body("{\"isrc\":").send().await.expect("POST");
        expect_problem(malformed, 400, "malformed_body").await;
        let not_json = app.browser.with_csrf_header(app.browser.client.post(app.url("/ingest/isrc"))).header("content-type", "text/plain").body("USRC11301176").send().await.expect("POST");
        expect_problem(not_json, 415, "unsupported_media_type").await;

        // The limit is 16 KiB: a body of exactly that size is read, one byte more is refused unread.
        let limit = 16 * 1024;
        let record = json!({"isrc": "USRC11301176", "title": "Edge", "artist": "Limit"}).to_string();
        let at_limit = format!("{record}{}", " ".repeat(limit - record.len()));
        assert_eq!(at_limit.len(), limit);
        let ok = app.browser.with_csrf_header(app.browser.client.post(app.url("/ingest/isrc"))).header("content-type", "application/json").body(at_limit.clone()).send().await.expect("POST");
        assert_eq!(ok.status(), 201);
        let over = app.browser.with_csrf_header(app.browser.client.post(app.url("/ingest/isrc"))).header("content-type", "application/json").body(format!("{at_limit} ")).send().await.expect("POST");
        expect_problem(over, 413, "payload_too_large").await;
        assert_eq!(count(&app).await, 1);
    }
}
