//! The authorization matrix: every route that exists × {anonymous, signed-in non-owner, owner}, on both
//! databases. A route added without a row here is a route nobody decided the access rules of.

use crate::helpers::{Browser, TestApp, both_backends};
use serde_json::json;

/// Who sends a request.
#[derive(Clone, Copy, Debug)]
enum Role {
    Anonymous,
    NonOwner,
    Owner,
}

/// What should happen.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// This status.
    Status(u16),
    /// `303` to the sign-in page, coming back to the same path.
    SignIn,
}

use Expect::{SignIn, Status};

fn sign_in_location(path: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
    format!("/auth/signin?callbackUrl={encoded}")
}

async fn send(browser: &Browser, method: &str, path: &str, body: Option<&Body>) -> reqwest::Response {
    match (method, body) {
        ("GET", _) => browser.get(path).await,
        ("POST", Some(Body::Form(form))) => browser.post_form(path, form).await,
        ("POST", Some(Body::Json(value))) => browser.post_json(path, value).await,
        _ => unreachable!("{method} {path}"),
    }
}

enum Body {
    Form(Vec<(&'static str, &'static str)>),
    Json(serde_json::Value),
}

async fn check(
    app: &TestApp,
    browsers: [&Browser; 3],
    method: &str,
    path: &str,
    body: Option<Body>,
    expect: [Expect; 3],
) {
    for (role, (browser, expected)) in
        [Role::Anonymous, Role::NonOwner, Role::Owner].into_iter().zip(browsers.into_iter().zip(expect))
    {
        let response = send(browser, method, path, body.as_ref()).await;
        let status = response.status().as_u16();
        match expected {
            Status(want) => assert_eq!(status, want, "{role:?} {method} {path}"),
            SignIn => {
                assert_eq!(status, 303, "{role:?} {method} {path}");
                let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
                assert_eq!(location, sign_in_location(path), "{role:?} {method} {path}");
            }
        }
        if status == 401 {
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = response.json().await.expect("problem");
            assert_eq!(problem["code"], "unauthenticated", "{role:?} {method} {path}");
        }
    }
    let _ = app;
}

both_backends! {
    async fn every_route_answers_each_role_as_decided(app: TestApp) {
        let anonymous = app.new_browser();
        let other = app.new_browser();
        app.create_user("other@example.test", crate::helpers::TEST_PASSWORD).await;
        assert_eq!(other.sign_in_with_password("other@example.test", crate::helpers::TEST_PASSWORD).await.status(), 303);
        app.sign_in("owner@example.test").await;
        let owner = &app.browser;
        let created = owner.post_form("/studio/sessions", &[("title", "Owned"), ("sample_rate", "48000")]).await;
        assert_eq!(created.status(), 303);
        let session = created.headers()["location"].to_str().expect("ascii").to_owned();
        let all = [&anonymous, &other, owner];

        // Public pages and APIs.
        for path in ["/", "/insight", "/catalogue", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs/", "/graphql", "/auth/signin", "/api/auth/signin", "/auth/session", "/api/auth/session", "/api/auth/providers", "/api/auth/csrf", "/auth/signout", "/assets/app.css"] {
            check(&app, all, "GET", path, None, [Status(200); 3]).await;
        }
        check(&app, all, "POST", "/graphql", Some(Body::Json(json!({"query": "{ apiVersion }"}))), [Status(200); 3]).await;

        // Studio: sign-in required to look, ownership required to change.
        check(&app, all, "GET", "/studio", None, [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "GET", "/account", None, [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "GET", &session, None, [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "GET", &format!("{session}/edit"), None, [SignIn, Status(403), Status(200)]).await;
        check(&app, all, "POST", &session, Some(Body::Form(vec![("title", "Renamed"), ("sample_rate", "44100")])), [SignIn, Status(403), Status(303)]).await;
        check(&app, all, "POST", &format!("{session}/tracks"), Some(Body::Form(vec![("name", "Kick")])), [SignIn, Status(403), Status(303)]).await;
        check(&app, all, "POST", "/studio/sessions", Some(Body::Form(vec![("title", "Mine"), ("sample_rate", "48000")])), [SignIn, Status(303), Status(303)]).await;
        // Where sign-in sends a visitor back to after a form POST: a GET of the same path, which leads to its page.
        for (path, page) in [("/studio/sessions".to_owned(), "/studio".to_owned()), (format!("{session}/tracks"), session.clone()), (format!("{session}/delete"), session.clone())] {
            let back = owner.get(&path).await;
            assert_eq!(back.status(), 303, "{path}");
            assert_eq!(back.headers()["location"], page.as_str(), "{path}");
        }

        let id = uuid::Uuid::parse_str(session.rsplit('/').next().expect("id")).expect("uuid");
        let track = omnisonic_store::studio::list_tracks(&app.db, id).await.expect("tracks")[0].id;
        check(&app, all, "POST", &format!("{session}/tracks/{track}"), Some(Body::Form(vec![("name", "Kick"), ("gain_db", "-3")])), [SignIn, Status(403), Status(303)]).await;
        // Exports: the owner's request reaches validation (this session has no audio to mix yet).
        check(&app, all, "POST", &format!("{session}/exports"), Some(Body::Form(vec![("format", "flac")])), [SignIn, Status(403), Status(422)]).await;
        check(&app, all, "POST", "/api/export", Some(Body::Json(json!({"sessionId": id, "format": "wav"}))), [Status(401), Status(403), Status(422)]).await;
        let nobody = uuid::Uuid::now_v7();
        check(&app, all, "GET", &format!("/api/export/{nobody}"), None, [Status(401), Status(404), Status(404)]).await;
        check(&app, all, "GET", &format!("/api/export/{nobody}/download"), None, [Status(401), Status(404), Status(404)]).await;
        // The realtime gateway: sign-in first; a plain GET (no WebSocket upgrade) is told to upgrade.
        check(&app, all, "GET", "/realtime", None, [Status(401), Status(426), Status(426)]).await;
        // Bulk imports (tests/api/bulk_import.rs covers a real job's owner and non-owner): sign-in first; a JSON
        // body is not a CSV or JSON Lines file.
        check(&app, all, "POST", "/ingest/isrc/bulk", Some(Body::Json(json!({}))), [Status(401), Status(415), Status(415)]).await;
        for path in ["", "/errors.csv", "/events"] {
            check(&app, all, "GET", &format!("/ingest/isrc/bulk/{nobody}{path}"), None, [Status(401), Status(404), Status(404)]).await;
        }
        check(&app, all, "GET", "/imports", None, [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "GET", &format!("/imports/{nobody}"), None, [SignIn, Status(404), Status(404)]).await;
        check(&app, all, "GET", "/settings/tokens", None, [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "POST", "/settings/tokens", Some(Body::Form(vec![("name", "matrix")])), [SignIn, Status(200), Status(200)]).await;
        check(&app, all, "POST", &format!("/settings/tokens/{nobody}/revoke"), Some(Body::Form(vec![])), [SignIn, Status(303), Status(303)]).await;

        // The owner's writes happened exactly once each; the others' did not happen at all.
        let stored = omnisonic_store::studio::get_session(&app.db, id).await.expect("session");
        assert_eq!((stored.title.as_str(), stored.sample_rate), ("Renamed", 44100));
        let tracks = omnisonic_store::studio::list_tracks(&app.db, id).await.expect("tracks");
        assert_eq!(tracks.iter().map(|t| (t.name.as_str(), t.gain_db)).collect::<Vec<_>>(), [("Kick", -3.0)]);

        // The owner sees edit controls; the other user a read-only view of the same session.
        let owner_view = owner.get(&session).await.text().await.expect("html");
        assert!(owner_view.contains("Edit session") && owner_view.contains("(you)"), "{owner_view}");
        let other_view = other.get(&session).await.text().await.expect("html");
        assert!(other_view.contains("read-only") && !other_view.contains("Edit session") && !other_view.contains("Add track"), "{other_view}");
        assert!(other_view.contains("owner"), "the owner's name is shown: {other_view}");
        assert!(!other_view.contains("owner@example.test"), "but never their email address: {other_view}");

        // REST writes: 401 problem+json for anonymous callers, allowed for any signed-in user (the catalogue is shared).
        check(&app, all, "POST", "/ingest/isrc", Some(Body::Json(json!({"isrc": "USRC11301176", "title": "2 On", "artist": "Tinashe"}))), [Status(401), Status(201), Status(200)]).await;

        // GraphQL mutations need a role (editor or accountant; tests/api/rights.rs covers each one): without it,
        // anonymous callers get UNAUTHENTICATED and signed-in ones FORBIDDEN, and nothing is written.
        for (browser, code) in [(&anonymous, "UNAUTHENTICATED"), (&other, "FORBIDDEN"), (owner, "FORBIDDEN")] {
            let body = json!({"query": "mutation { createWork(input: {title: \"T\"}) { id } }"});
            let answer: serde_json::Value = browser.post_json("/graphql", &body).await.json().await.expect("json");
            assert_eq!(answer["errors"][0]["extensions"]["code"], code, "{answer}");
        }
        // The ledger pages are for accountants; the catalogue's live pages are public.
        check(&app, all, "GET", "/ledger", None, [SignIn, Status(403), Status(403)]).await;
        let work = omnisonic_store::catalogue::create_work(
            &app.db,
            &omnisonic_domain::catalogue::WorkInput { title: "Public".into(), ..Default::default() }.validate().expect("valid"),
        )
        .await
        .expect("work");
        check(&app, all, "GET", &format!("/catalogue/works/{}", work.id), None, [Status(200); 3]).await;

        // Delete last: the non-owner is refused, the owner's delete removes the session and its tracks.
        check(&app, all, "POST", &format!("{session}/delete"), Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        assert!(omnisonic_store::studio::get_session(&app.db, id).await.is_err());
        assert!(omnisonic_store::studio::list_tracks(&app.db, id).await.expect("tracks").is_empty());

        // Sign-out is open to everyone (anonymous: a no-op) and always lands on the home page.
        check(&app, all, "POST", "/auth/signout", Some(Body::Form(vec![])), [Status(303); 3]).await;
    }

    async fn each_user_lists_only_their_own_sessions(app: TestApp) {
        let other = app.new_browser();
        app.create_user("b@example.test", crate::helpers::TEST_PASSWORD).await;
        other.sign_in_with_password("b@example.test", crate::helpers::TEST_PASSWORD).await;
        app.sign_in("a@example.test").await;
        app.post_form("/studio/sessions", &[("title", "Alpha only"), ("sample_rate", "48000")]).await;
        other.post_form("/studio/sessions", &[("title", "Bravo only"), ("sample_rate", "48000")]).await;
        let mine = app.browser.get("/studio").await.text().await.expect("html");
        assert!(mine.contains("Alpha only") && !mine.contains("Bravo only"), "{mine}");
        let theirs = other.get("/studio").await.text().await.expect("html");
        assert!(theirs.contains("Bravo only") && !theirs.contains("Alpha only"), "{theirs}");
    }

    async fn a_signed_in_request_costs_two_reads_and_assets_none(app: TestApp) {
        app.sign_in("cost@example.test").await;
        app.browser.whoami().await; // the first look after sign-in also stamps the idle keep-alive (one write)
        let before = app.statements();
        assert!(app.browser.whoami().await.is_object());
        assert_eq!(app.statements() - before, 2, "the session row and the user row; no write within the minute");
        let before = app.statements();
        assert_eq!(app.browser.client.get(app.url("/assets/app.css")).send().await.expect("css").status(), 200);
        assert_eq!(app.statements() - before, 0, "static assets never touch the session store");
    }

    async fn graphql_knows_who_is_asking(app: TestApp) {
        let anonymous = app.graphql("{ viewer { id email } }", json!({})).await;
        assert_eq!(anonymous["data"]["viewer"], serde_json::Value::Null);
        let id = app.sign_in("gq@example.test").await;
        let response: serde_json::Value = app.post_json("/graphql", &json!({"query": "{ viewer { id email } }"})).await.json().await.expect("json");
        assert_eq!(response["data"]["viewer"]["id"], id.to_string());
        assert_eq!(response["data"]["viewer"]["email"], "gq@example.test");
    }
}
