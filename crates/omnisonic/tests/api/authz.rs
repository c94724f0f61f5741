//! The authorization matrix: every route that exists × {anonymous, signed-in non-owner, owner}, on both
//! databases. A route added without a row here is a route nobody decided the access rules of: `cargo xtask
//! tidy` fails when a route in `crates/web/src` is missing from [`ROUTES`], and the matrix test fails when a
//! template in [`ROUTES`] got no request.

use crate::helpers::{Browser, TestApp, both_backends};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Every route template the matrix covers (routers nested under `/auth` are covered by their `/auth/…` rows,
/// which the `/api/auth/…` twins share).
const ROUTES: &[&str] = &[
    "/",
    "/insight",
    "/insight/sources",
    "/insight/sources/{id}",
    "/insight/sources/{id}/poll",
    "/insight/sources/{id}/toggle",
    "/insight/sources/{id}/delete",
    "/insight/retag",
    "/insight/aliases",
    "/api/insight/sources",
    "/api/insight/sources/{id}",
    "/api/insight/sources/{id}/poll",
    "/api/insight/aliases",
    "/api/insight/aliases/{id}",
    "/ingest/news",
    "/ingest/tagging/improve",
    "/catalogue",
    "/catalogue/works/{id}",
    "/catalogue/recordings/{id}",
    "/ledger",
    "/ledger/cycles/{id}",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs/",
    "/assets/{*path}",
    "/graphql",
    "/graphql/ws",
    "/realtime",
    "/auth/signin",
    "/auth/signin/email",
    "/auth/signin/{provider}",
    "/auth/callback/credentials",
    "/auth/callback/email",
    "/auth/callback/{provider}",
    "/auth/signout",
    "/auth/session",
    "/api/auth/csrf",
    "/api/auth/providers",
    "/api/auth/signin",
    "/account",
    "/studio",
    "/studio/sessions",
    "/studio/sessions/{id}",
    "/studio/sessions/{id}/edit",
    "/studio/sessions/{id}/tracks",
    "/studio/sessions/{id}/tracks/{track_id}",
    "/studio/sessions/{id}/exports",
    "/studio/sessions/{id}/uploads/{upload_id}/delete",
    "/studio/sessions/{id}/delete",
    "/api/upload",
    "/api/upload/direct",
    "/api/upload/{id}",
    "/api/upload/{id}/delete",
    "/api/upload/{id}/parts",
    "/api/upload/{id}/complete",
    "/api/files/{*key}",
    "/api/export",
    "/api/export/{id}",
    "/api/export/{id}/download",
    "/ingest/isrc",
    "/ingest/isrc/bulk",
    "/ingest/isrc/bulk/{id}",
    "/ingest/isrc/bulk/{id}/errors.csv",
    "/ingest/isrc/bulk/{id}/events",
    "/imports",
    "/imports/{id}",
    "/settings/tokens",
    "/settings/tokens/{id}/revoke",
];

/// Whether `path` (no query) is an instance of `template`: `{x}` stands for one segment, `{*x}` for the rest.
fn matches(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (Some(seg), Some(_)) if seg.starts_with("{*") => return true,
            (Some(seg), Some(value)) if seg.starts_with('{') => {
                if value.is_empty() {
                    return false;
                }
            }
            (Some(seg), Some(value)) if seg == value => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The templates each app (by address) was asked for by [`check`].
static REQUESTED: Mutex<BTreeSet<(String, &'static str)>> = Mutex::new(BTreeSet::new());

fn record(app: &TestApp, path: &str) {
    let path = path.split('?').next().unwrap_or(path);
    let mut requested = REQUESTED.lock().expect("lock");
    requested.extend(ROUTES.iter().filter(|t| matches(t, path)).map(|t| (app.address.to_string(), *t)));
}

/// The templates of [`ROUTES`] that `app` was never asked for.
fn unrequested(app: &TestApp) -> Vec<&'static str> {
    let requested = REQUESTED.lock().expect("lock");
    ROUTES.iter().copied().filter(|t| !requested.contains(&(app.address.to_string(), *t))).collect()
}

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
        ("POST", Some(Body::Bytes(bytes))) => {
            let request = browser.client.post(browser.url(path)).body(bytes.clone());
            browser.with_csrf_header(request).send().await.expect("POST")
        }
        ("PATCH", Some(Body::Json(value))) => {
            browser.with_csrf_header(browser.client.patch(browser.url(path)).json(value)).send().await.expect("PATCH")
        }
        ("DELETE", None) => {
            browser.with_csrf_header(browser.client.delete(browser.url(path))).send().await.expect("DELETE")
        }
        _ => unreachable!("{method} {path}"),
    }
}

enum Body {
    Form(Vec<(&'static str, &'static str)>),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

async fn check(
    app: &TestApp,
    browsers: [&Browser; 3],
    method: &str,
    path: &str,
    body: Option<Body>,
    expect: [Expect; 3],
) {
    record(app, path);
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
        // REST answers 401 as problem+json; the sign-in pages answer a failed sign-in with the form again.
        if status == 401 && !path.starts_with("/auth/") {
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: serde_json::Value = response.json().await.expect("problem");
            assert_eq!(problem["code"], "unauthenticated", "{role:?} {method} {path}");
        }
    }
}

both_backends! {
    async fn every_route_answers_each_role_as_decided(app: TestApp) {
        let anonymous = app.new_browser();
        let other = app.new_browser();
        app.create_user("other@example.test", crate::helpers::TEST_PASSWORD).await;
        assert_eq!(other.sign_in_with_password("other@example.test", crate::helpers::TEST_PASSWORD).await.status(), 303);
        let owner_id = app.sign_in("owner@example.test").await;
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
        // The realtime gateway and GraphQL subscriptions: a plain GET (no WebSocket upgrade) is told to upgrade;
        // the gateway wants sign-in first, subscriptions are public (each operation checks its own access).
        check(&app, all, "GET", "/realtime", None, [Status(401), Status(426), Status(426)]).await;
        check(&app, all, "GET", "/graphql/ws", None, [Status(426), Status(426), Status(426)]).await;

        // Uploads: a signed-in user's own; metadata and changes are the owner's only.
        let wav = || crate::exports::stereo_wav(0.1, 44_100, 440.0);
        check(&app, all, "POST", "/api/upload?name=take.wav", Some(Body::Bytes(wav())), [Status(401), Status(201), Status(201)]).await;
        let direct = json!({"name": "big.wav", "size": 6_000_000});
        check(&app, all, "POST", "/api/upload/direct", Some(Body::Json(direct)), [Status(401), Status(201), Status(201)]).await;
        let mine = crate::exports::upload(&app, "mine.wav", wav()).await;
        check(&app, all, "GET", &format!("/api/upload/{mine}"), None, [Status(401), Status(403), Status(200)]).await;
        let parts = json!({"partNumbers": [1]});
        check(&app, all, "POST", &format!("/api/upload/{mine}/parts"), Some(Body::Json(parts)), [Status(401), Status(403), Status(409)]).await;
        let complete = json!({"parts": [{"partNumber": 1, "etag": "x"}]});
        check(&app, all, "POST", &format!("/api/upload/{mine}/complete"), Some(Body::Json(complete)), [Status(401), Status(403), Status(409)]).await;
        // Files are reached through signed URLs only: without a valid signature nobody gets them.
        let key = omnisonic_store::uploads::get_upload(&app.db, mine).await.expect("upload").storage_key;
        check(&app, all, "GET", &format!("/api/files/{key}"), None, [Status(403), Status(403), Status(403)]).await;
        check(&app, all, "POST", &format!("/api/upload/{mine}/delete"), Some(Body::Form(vec![])), [Status(401), Status(403), Status(204)]).await;
        let second = crate::exports::upload(&app, "second.wav", wav()).await;
        check(&app, all, "DELETE", &format!("/api/upload/{second}"), None, [Status(401), Status(403), Status(204)]).await;
        let third = crate::exports::upload(&app, "third.wav", wav()).await;
        check(&app, all, "POST", &format!("{session}/uploads/{third}/delete"), Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        assert!(omnisonic_store::uploads::get_upload(&app.db, third).await.is_err(), "the owner's delete happened");
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
        let recording = omnisonic_store::catalogue::recording_by_isrc(&app.db, "USRC11301176").await.expect("read").expect("ingested above");
        check(&app, all, "GET", &format!("/catalogue/recordings/{}", recording.id), None, [Status(200); 3]).await;
        check(&app, all, "GET", &format!("/ledger/cycles/{nobody}"), None, [SignIn, Status(403), Status(403)]).await;

        // Delete last: the non-owner is refused, the owner's delete removes the session and its tracks.
        check(&app, all, "POST", &format!("{session}/delete"), Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        assert!(omnisonic_store::studio::get_session(&app.db, id).await.is_err());
        assert!(omnisonic_store::studio::list_tracks(&app.db, id).await.expect("tracks").is_empty());

        // Signing in is open to everyone, with the session's CSRF token (the anonymous browser never fetched
        // one); a request that cannot succeed (no email links, no GitHub configured here) is told why.
        // Whether an address has an account is never revealed: the answer is "check your inbox" either way.
        check(&app, all, "POST", "/auth/signin/email", Some(Body::Form(vec![("email", "x@example.test")])), [Status(403), Status(200), Status(200)]).await;
        check(&app, all, "POST", "/auth/signin/github", Some(Body::Form(vec![])), [Status(403), Status(400), Status(400)]).await;
        check(&app, all, "GET", "/auth/callback/github?code=x&state=y", None, [Status(400); 3]).await;
        // A link's GET only shows the confirm button (mail scanners prefetch links); the POST redeems it.
        check(&app, all, "GET", "/auth/callback/email?token=nope", None, [Status(200); 3]).await;
        check(&app, all, "POST", "/auth/callback/email", Some(Body::Form(vec![("token", "nope")])), [Status(403), Status(400), Status(400)]).await;
        let wrong = Body::Form(vec![("email", "nobody@example.test"), ("password", "wrong password")]);
        check(&app, all, "POST", "/auth/callback/credentials", Some(wrong), [Status(403), Status(401), Status(401)]).await;

        // Insight: the news and a source's page are public like the catalogue; sources, pushes and re-tags are
        // for editors (here the owner is made one). Internal URLs are refused (no OUTBOUND_ALLOW_CIDRS here).
        omnisonic_store::auth::grant_role(&app.db, owner_id, "editor").await.expect("editor");
        let new = omnisonic_store::feeds::NewSource { url: "http://127.0.0.1:9/feed.xml".into(), title: None, poll_interval_seconds: 900, created_by: None };
        let source = omnisonic_store::feeds::create_source(&app.db, new, chrono::Utc::now()).await.expect("source").id;
        check(&app, all, "GET", "/insight/sources", None, [SignIn, Status(403), Status(200)]).await;
        check(&app, all, "POST", "/insight/sources", Some(Body::Form(vec![("url", "http://127.0.0.1:9/other.xml")])), [SignIn, Status(403), Status(422)]).await;
        check(&app, all, "GET", &format!("/insight/sources/{source}"), None, [Status(200); 3]).await;
        for action in ["poll", "toggle"] {
            check(&app, all, "POST", &format!("/insight/sources/{source}/{action}"), Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        }
        check(&app, all, "POST", "/insight/retag", Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        check(&app, all, "GET", "/api/insight/sources", None, [Status(401), Status(403), Status(200)]).await;
        check(&app, all, "POST", "/api/insight/sources", Some(Body::Json(json!({"url": "http://10.0.0.1/feed"}))), [Status(401), Status(403), Status(422)]).await;
        check(&app, all, "GET", &format!("/api/insight/sources/{source}"), None, [Status(401), Status(403), Status(200)]).await;
        check(&app, all, "PATCH", &format!("/api/insight/sources/{source}"), Some(Body::Json(json!({"enabled": true}))), [Status(401), Status(403), Status(200)]).await;
        check(&app, all, "POST", &format!("/api/insight/sources/{source}/poll"), Some(Body::Json(json!({}))), [Status(401), Status(403), Status(200)]).await;
        let polled = omnisonic_store::feeds::get_source(&app.db, source).await.expect("source");
        assert!(polled.last_error.as_deref().is_some_and(|e| e.contains("loopback")), "the guard refused the poll: {:?}", polled.last_error);
        check(&app, all, "POST", "/ingest/news", Some(Body::Json(json!({"title": "Matrix news"}))), [Status(401), Status(403), Status(200)]).await;
        check(&app, all, "POST", "/ingest/tagging/improve", Some(Body::Json(json!({}))), [Status(401), Status(403), Status(202)]).await;
        check(&app, all, "DELETE", &format!("/api/insight/sources/{source}"), None, [Status(401), Status(403), Status(204)]).await;
        let alias = json!({"entityType": "work", "entityId": work.id, "alias": "The Public Work"});
        check(&app, all, "POST", "/api/insight/aliases", Some(Body::Json(alias)), [Status(401), Status(403), Status(201)]).await;
        check(&app, all, "GET", "/api/insight/aliases", None, [Status(401), Status(403), Status(200)]).await;
        let alias_id = omnisonic_store::news::aliases_of(&app.db, Some(work.id)).await.expect("aliases")[0].id;
        check(&app, all, "DELETE", &format!("/api/insight/aliases/{alias_id}"), None, [Status(401), Status(403), Status(204)]).await;
        let work_id = work.id.to_string();
        let form = |alias: &'static str| Body::Form(vec![("entity_type", "work"), ("entity_id", Box::leak(work_id.clone().into_boxed_str())), ("alias", alias)]);
        check(&app, all, "POST", "/insight/aliases", Some(form("Public, the work")), [SignIn, Status(403), Status(303)]).await;
        let page = owner.get(&format!("/catalogue/works/{}", work.id)).await.text().await.expect("html");
        assert!(page.contains("Public, the work") && page.contains("Add name"), "the editor sees the alias and the form");
        let public = anonymous.get(&format!("/catalogue/works/{}", work.id)).await.text().await.expect("html");
        assert!(public.contains("Public, the work") && !public.contains("Add name"), "others see the names only");
        assert_eq!(owner.post_form("/insight/aliases", &[("entity_type", "work"), ("entity_id", &work_id), ("alias", "Public, the work")]).await.status(), 409);
        assert_eq!(owner.post_form("/insight/aliases", &[("entity_type", "work"), ("entity_id", &work_id), ("alias", " ")]).await.status(), 422);
        let doomed = omnisonic_store::feeds::NewSource { url: "http://127.0.0.1:9/doomed.xml".into(), title: None, poll_interval_seconds: 900, created_by: None };
        let doomed = omnisonic_store::feeds::create_source(&app.db, doomed, chrono::Utc::now()).await.expect("source").id;
        check(&app, all, "POST", &format!("/insight/sources/{doomed}/delete"), Some(Body::Form(vec![])), [SignIn, Status(403), Status(303)]).await;
        assert!(omnisonic_store::feeds::list_sources(&app.db).await.expect("list").is_empty(), "the editor's deletes happened");

        // Sign-out is open to everyone (anonymous: a no-op) and always lands on the home page.
        check(&app, all, "POST", "/auth/signout", Some(Body::Form(vec![])), [Status(303); 3]).await;
        assert_eq!(unrequested(&app), Vec::<&str>::new(), "routes in ROUTES without a row in the matrix");
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
