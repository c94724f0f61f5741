//! Regression tests for what a hostile-input review found (issue 14): one anonymous request that aborted the
//! process, requests that starved the database pool or amplified responses, sockets that outlived their
//! sign-in, and smaller leaks. Each test failed before its fix.

use crate::exports::{add_track, connect, create_session, next_event, upload};
use crate::helpers::{
    Backend, TEST_PASSWORD, TestApp, both_backends, both_backends_with_workers, settings, spawn_app_with,
};
use crate::rights::{close_code, next_of, send, ws_connect};
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn code(response: &serde_json::Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

/// `{ recordings(first: 1, search: [[[…"x"…]]]) { … } }`, the ~4 KB request that aborted the server.
fn nested_lists(depth: usize) -> String {
    format!(
        "{{ recordings(first: 1, search: {}\"x\"{}) {{ edges {{ cursor }} }} }}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

async fn still_answers(app: &TestApp) {
    let alive = app.graphql("{ apiVersion }", json!({})).await;
    assert!(alive["data"]["apiVersion"].is_string(), "{alive}");
}

/// A WAV header claiming `rate` Hz, with a little silence.
fn wav_claiming(rate: u32) -> Vec<u8> {
    let samples = 4_800u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.wrapping_mul(2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples * 2).to_le_bytes());
    out.resize(out.len() + samples as usize * 2, 0);
    out
}

both_backends! {
    async fn deeply_nested_documents_are_refused_on_every_path(app: TestApp) {
        let lists = app.graphql(&nested_lists(2_000), json!({})).await;
        assert_eq!(code(&lists), "REQUEST_TOO_COMPLEX", "{lists}");
        let objects = format!("query($v: String = {}1{}) {{ apiVersion }}", "{a:".repeat(3_000), "}".repeat(3_000));
        assert_eq!(code(&app.graphql(&objects, json!({})).await), "REQUEST_TOO_COMPLEX");
        still_answers(&app).await;

        // The same document as a subscribe on /graphql/ws, anonymously.
        let mut socket = ws_connect(&app, false).await;
        send(&mut socket, json!({"id": "1", "type": "subscribe", "payload": {"query": nested_lists(2_000)}})).await;
        let error = next_of(&mut socket, "error").await;
        assert_eq!(error["payload"][0]["extensions"]["code"], "REQUEST_TOO_COMPLEX", "{error}");
        still_answers(&app).await;
    }

    async fn aliases_of_a_search_cannot_hold_the_pool(app: TestApp) {
        omnisonic::seed::synthetic(&app.db, 40).await.expect("seed");
        let aliases = |n: usize| {
            let body: String =
                (0..n).map(|i| format!("a{i}:recordings(first:1,search:\"zq\"){{__typename}} ")).collect();
            format!("{{ {body} }}")
        };
        // The probe's request: 1,250 aliased scans in 62 KB.
        let flood = app.graphql(&aliases(1_250), json!({})).await;
        assert_eq!(code(&flood), "REQUEST_TOO_COMPLEX", "{flood}");
        assert!(flood["data"].is_null());
        // A search costs what a scan costs: a few fit in one request, six do not.
        let few = app.graphql(&aliases(4), json!({})).await;
        assert!(few["errors"].is_null(), "{few}");
        assert_eq!(few["data"]["a3"]["__typename"], "RecordingConnection");
        let six = app.graphql(&aliases(6), json!({})).await;
        assert!(six["data"].is_null() && six["errors"][0]["message"].as_str().is_some_and(|m| m.contains("complex")), "{six}");
    }

    async fn introspection_cannot_be_multiplied(app: TestApp) {
        let body: String = (0..600).map(|i| format!("s{i}: __schema {{ types {{ name fields {{ name }} }} }} ")).collect();
        let response = app.post_json("/graphql", &json!({"query": format!("{{ {body} }}")})).await;
        let text = response.text().await.expect("body");
        assert!(text.len() < 4_096, "a refusal, not 5.8 MB: {} bytes", text.len());
        let refused: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(code(&refused), "REQUEST_TOO_COMPLEX");
        let once = app.graphql("{ __schema { types { name } } }", json!({})).await;
        assert!(once["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 10), "GraphiQL still works");
    }

    async fn signing_out_closes_every_socket_of_that_sign_in(app: TestApp) {
        app.sign_in("leaver@example.test").await;
        let session = create_session(&app, 48_000).await;
        let mut room = connect(&app, session).await;
        let mut graphql = ws_connect(&app, true).await;
        let signed_out = app.post_form("/auth/signout", &[]).await;
        assert_eq!(signed_out.status(), 303);
        assert_eq!(close_code(&mut graphql).await, 4403, "the GraphQL socket closes");
        let closed = loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), room.next()).await.expect("closes within 10 s");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
                Some(Ok(_)) => continue,
                other => panic!("closed without a code: {other:?}"),
            }
        };
        assert_eq!(closed, 4401, "the realtime socket closes");
    }

    async fn presence_hides_emails_and_exports_reach_only_the_owner(app: TestApp) {
        app.sign_in("owner@example.test").await;
        let session = create_session(&app, 48_000).await;
        let mut owner = connect(&app, session).await;
        // A viewer without a display name: presence used to show their email address.
        let new = omnisonic_store::auth::NewUser {
            email: Some("nameless@example.test".to_owned()),
            password_hash: Some(password_auth::generate_hash(TEST_PASSWORD)),
            ..Default::default()
        };
        omnisonic_store::auth::create_user(&app.db, new).await.expect("user");
        let viewer = app.new_browser();
        assert_eq!(viewer.sign_in_with_password("nameless@example.test", TEST_PASSWORD).await.status(), 303);
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/realtime?session={session}",
            app.address
        ))
        .expect("request");
        request.headers_mut().insert("cookie", viewer.cookie_header().parse().expect("cookie"));
        let (mut other, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
        let joined = next_event(&mut owner, "presence").await;
        assert_eq!(joined["data"]["event"], "join");
        assert!(!joined.to_string().contains("nameless@"), "{joined}");

        let take = upload(&app, "take.wav", crate::exports::stereo_wav(0.2, 48_000, 440.0)).await;
        assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
        let export = app.post_json("/api/export", &json!({"sessionId": session, "format": "wav"})).await;
        assert_eq!(export.status(), 202);
        next_event(&mut owner, "export.progress").await;
        // Something everyone sees, after the export event: the viewer must get it without any export event first.
        let renamed = app
            .post_form(&format!("/studio/sessions/{session}"), &[("title", "Renamed"), ("sample_rate", "48000")])
            .await;
        assert_eq!(renamed.status(), 303);
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), other.next())
                .await
                .expect("an event")
                .expect("open")
                .expect("frame");
            let Message::Text(text) = frame else { continue };
            let event: serde_json::Value = serde_json::from_str(&text).expect("json");
            let kind = event["type"].as_str().unwrap_or_default().to_owned();
            assert!(!kind.starts_with("export."), "a non-owner received {event}");
            assert!(!text.contains("owner@example.test"), "{event}");
            if kind == "session.updated" {
                break;
            }
        }
    }

    async fn a_stray_byte_in_another_cookie_keeps_the_sign_in(app: TestApp) {
        app.sign_in("cookies@example.test").await;
        let mut cookie = app.browser.cookie_header().into_bytes();
        cookie.extend_from_slice(b"; other_app=caf\xe9; theme=dark");
        let response = app
            .client
            .get(app.url("/api/auth/session"))
            .header("cookie", reqwest::header::HeaderValue::from_bytes(&cookie).expect("header"))
            .send()
            .await
            .expect("GET");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["user"]["email"], "cookies@example.test", "{body}");
    }

    async fn audio_with_impossible_parameters_is_refused_when_added(app: TestApp) {
        app.sign_in("producer@example.test").await;
        let session = create_session(&app, 48_000).await;
        for (rate, reason) in [(u32::MAX, "sample rate"), (0, "sample rate"), (1_000, "sample rate")] {
            let file = upload(&app, "claims.wav", wav_claiming(rate)).await;
            let refused = add_track(&app, session, file, "Claims").await;
            assert_eq!(refused.status(), 422, "{rate} Hz");
            let page = refused.text().await.expect("html");
            assert!(page.contains(reason), "{rate} Hz: the reason is shown");
        }
        let fine = upload(&app, "fine.wav", wav_claiming(8_000)).await;
        assert_eq!(add_track(&app, session, fine, "Fine").await.status(), 303, "8 kHz, the lowest rate, is mixed");
    }

    async fn dates_and_durations_outside_the_documented_formats_are_refused(app: TestApp) {
        app.sign_in("editor@example.test").await;
        for released in ["-0001-01-01", "0000", "+2014-01-01", "1859"] {
            let body = json!({"isrc": "USRC11301176", "title": "2 On", "artist": "Tinashe", "released_at": released});
            let refused = app.post_json("/ingest/isrc", &body).await;
            assert_eq!(refused.status(), 422, "{released}");
        }
        let accepted = app
            .post_json("/ingest/isrc", &json!({"isrc": "USRC11301176", "title": "2 On", "artist": "Tinashe", "released_at": "2014"}))
            .await;
        assert!(accepted.status().is_success(), "{}", accepted.status());

    }
}

both_backends_with_workers! { [];
    async fn bulk_rows_with_such_values_are_refused_and_the_file_downloads(app: TestApp) {
        app.sign_in("importer@example.test").await;
        // The bulk path refuses them per row, with the reason, and keeps the good rows.
        let csv = "isrc,title,artist,duration,released_at\n\
                   USRC11301177,Ok,Tinashe,3:35,2014-01-21\n\
                   USRC11301178,Half,Tinashe,1.5,2014\n\
                   USRC11301179,Year,Tinashe,200,-0001-01-01\n\
                   USRC11301180,Formula,Tinashe,\u{a0}=HYPERLINK(1),2014\n";
        let id = crate::bulk_import::start_import(&app, "text/csv", csv.as_bytes().to_vec()).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let job = loop {
            let job = crate::bulk_import::status(&app, id).await;
            assert!(std::time::Instant::now() < deadline, "the import did not finish: {job}");
            if matches!(job["status"].as_str(), Some("completed" | "failed")) {
                break job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!((job["acceptedRecords"].as_i64(), job["rejectedRecords"].as_i64()), (Some(1), Some(3)), "{job}");
        // A formula behind a no-break space is defused in the error report, as one without is.
        let report = app.get(&format!("/ingest/isrc/bulk/{id}/errors.csv")).await.text().await.expect("report");
        assert!(report.contains("'\u{a0}=HYPERLINK(1)"), "{report}");
        // Its file downloads from the link the status gives.
        let file_url = job["fileUrl"].as_str().expect("fileUrl").to_owned();
        let url = if file_url.starts_with('/') { app.url(&file_url) } else { file_url };
        let file = app.client.get(url).send().await.expect("GET fileUrl");
        assert_eq!(file.status(), 200);
        assert_eq!(file.text().await.expect("body"), csv);
    }
}

// Sign-in callbacks that normalise to another host: `auth.rs`, `after_sign_in_only_local_paths_are_followed`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_names_lose_their_direction_overrides() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    app.sign_in("rtlo@example.test").await;
    let url = format!("{}?name=%E2%80%AEvaw.exe", app.url("/api/upload"));
    let request = app.browser.client.post(url).body(crate::exports::stereo_wav(0.1, 48_000, 440.0));
    let response = app.browser.with_csrf_header(request).send().await.expect("upload");
    assert_eq!(response.status(), 201);
    let view: serde_json::Value = response.json().await.expect("json");
    assert_eq!(view["fileName"], "vaw.exe", "U+202E would make it display as exe.wav");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    let path = app.database_url.trim_start_matches("sqlite://").split('?').next().expect("path").to_owned();
    let mode = std::fs::metadata(&path).expect("database file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds password hashes and sign-in sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_share_one_metrics_label() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    for n in 0..40 {
        let method = reqwest::Method::from_bytes(format!("PROBE{n}X").as_bytes()).expect("method");
        let _ = app.client.request(method, app.url("/healthz")).send().await.expect("request");
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(!metrics.contains("PROBE"), "arbitrary methods are not labels");
    assert!(metrics.contains("method=\"other\""), "they count as one label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_content_security_policy() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await.expect("app");
    for path in ["/docs/", "/openapi.json", "/healthz"] {
        let response = app.get(path).await;
        let csp = response.headers().get("content-security-policy").map(|v| v.to_str().unwrap_or_default().to_owned());
        assert!(csp.is_some_and(|c| c.contains("default-src 'self'")), "{path}");
    }
}

/// With pub/sub on Redis, `omnisonic user disable` in another process closes the user's sockets at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_from_the_command_line_closes_their_sockets() {
    let Some(redis) = crate::queue::redis_url() else { return };
    let prefix = format!("test-{}:", uuid::Uuid::now_v7());
    let app = spawn_app_with(Backend::Sqlite, settings(&["--redis-url", &redis, "--redis-key-prefix", &prefix]))
        .await
        .expect("app");
    app.sign_in("disabled@example.test").await;
    let mut graphql = ws_connect(&app, true).await;
    // The socket subscribes to the nudges as it opens, concurrently with this test: run the command again (it is
    // idempotent and nudges each time) until the socket closes, instead of guessing a delay.
    for _ in 0..10 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_omnisonic"))
            .args(["user", "disable", "disabled@example.test"])
            .env("DATABASE_URL", &app.database_url)
            .env("REDIS_URL", &redis)
            .env("REDIS_KEY_PREFIX", &prefix)
            .env("OMNISONIC_DATA_DIR", std::env::temp_dir())
            .output()
            .expect("run omnisonic user disable");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let closed = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match graphql.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        })
        .await;
        if let Ok(code) = closed {
            assert_eq!(code, Some(4403));
            return;
        }
    }
    panic!("the socket stayed open after the user was disabled");
}
