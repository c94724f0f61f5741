//! Mixdown exports (spec 1.3) end to end: uploads become tracks, an export is asked for over the API, the worker
//! mixes it, progress arrives over the realtime WebSocket, and the file downloads. On the embedded setup the
//! worker runs in the app's process; on PostgreSQL + Redis + S3 it is a separate `omnisonic worker` process —
//! which the crash test kills in the middle of an export.

use crate::helpers::{Backend, S3Bucket, TestApp, expect_problem, files_below, settings, shared_data, spawn_app_with};
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A stereo 16-bit WAV: a sine of `freq` Hz on the left, `freq * 1.5` on the right, at -12 dBFS.
pub(crate) fn stereo_wav(seconds: f64, rate: u32, freq: f64) -> Vec<u8> {
    let spec =
        hound::WavSpec { channels: 2, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut cursor, spec).expect("wav writer");
        let frames = (seconds * f64::from(rate)) as u64;
        for n in 0..frames {
            let t = n as f64 / f64::from(rate);
            for f in [freq, freq * 1.5] {
                let sample = (0.25 * (2.0 * std::f64::consts::PI * f * t).sin() * 32767.0) as i16;
                writer.write_sample(sample).expect("sample");
            }
        }
        writer.finalize().expect("finalize");
    }
    cursor.into_inner()
}

pub(crate) async fn upload(app: &TestApp, name: &str, body: Vec<u8>) -> Uuid {
    let url = format!("{}?name={name}", app.url("/api/upload"));
    let response = app.browser.with_csrf_header(app.browser.client.post(url)).body(body).send().await.expect("upload");
    assert_eq!(response.status(), 201, "upload {name}");
    let view: serde_json::Value = response.json().await.expect("json");
    Uuid::parse_str(view["id"].as_str().expect("id")).expect("uuid")
}

pub(crate) async fn create_session(app: &TestApp, rate: u32) -> Uuid {
    let rate = rate.to_string();
    let response = app.post_form("/studio/sessions", &[("title", "Mixdown test"), ("sample_rate", &rate)]).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    Uuid::parse_str(location.trim_start_matches("/studio/sessions/")).expect("session id in location")
}

pub(crate) async fn add_track(app: &TestApp, session: Uuid, upload: Uuid, name: &str) -> reqwest::Response {
    let upload = upload.to_string();
    app.post_form(&format!("/studio/sessions/{session}/tracks"), &[("name", name), ("upload_id", &upload)]).await
}

pub(crate) async fn connect(app: &TestApp, session: Uuid) -> Socket {
    let mut request =
        format!("ws://{}/realtime?session={session}", app.address).into_client_request().expect("request");
    request.headers_mut().insert("cookie", app.browser.cookie_header().parse().expect("cookie"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let joined = next_event(&mut socket, "joined").await;
    assert_eq!(joined["data"]["sessionId"], session.to_string());
    socket
}

/// The next event of type `kind` (others are skipped), within 60 s.
pub(crate) async fn next_event(socket: &mut Socket, kind: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 60 s"))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON event");
            if value["type"] == kind {
                return value;
            }
        }
    }
}

async fn export_row(app: &TestApp, id: &str) -> serde_json::Value {
    let response = app.get(&format!("/api/export/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// Follows the download redirect and returns the file.
async fn download(app: &TestApp, id: &str) -> Vec<u8> {
    let response = app.get(&format!("/api/export/{id}/download")).await;
    assert_eq!(response.status(), 302, "download redirects to the file");
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    let url = if location.starts_with('/') { app.url(&location) } else { location };
    let file = app.client.get(url).send().await.expect("fetch file");
    assert_eq!(file.status(), 200);
    file.bytes().await.expect("bytes").to_vec()
}

crate::helpers::both_backends_with_workers! {
    [];
    async fn an_export_runs_end_to_end_with_live_progress(app: TestApp) {
        app.sign_in("producer@example.com").await;
        let session = create_session(&app, 44_100).await;
        let drums = upload(&app, "drums.wav", stereo_wav(3.0, 44_100, 220.0)).await;
        let bass = upload(&app, "bass.wav", stereo_wav(2.0, 48_000, 110.0)).await;
        assert_eq!(add_track(&app, session, drums, "Drums").await.status(), 303);
        assert_eq!(add_track(&app, session, bass, "Bass").await.status(), 303);
        let tracks = omnisonic_store::studio::list_tracks(&app.db, session).await.expect("tracks");
        assert_eq!(tracks.iter().map(|t| t.duration_ms).collect::<Vec<_>>(), [Some(3000), Some(2000)], "probed lengths");

        let mut socket = connect(&app, session).await;
        let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "flac" })).await;
        assert_eq!(response.status(), 202);
        let queued: serde_json::Value = response.json().await.expect("json");
        assert_eq!(queued["status"], "pending");
        let id = queued["id"].as_str().expect("id").to_owned();

        let progress = next_event(&mut socket, "export.progress").await;
        assert_eq!(progress["data"]["exportId"], id.as_str());
        let completed = next_event(&mut socket, "export.completed").await;
        assert_eq!(completed["data"]["exportId"], id.as_str());
        assert_eq!(completed["data"]["progress"], 100);

        let row = export_row(&app, &id).await;
        assert_eq!(row["status"], "completed");
        assert_eq!(row["progress"], 100);
        assert_eq!(row["fileUrl"], format!("/api/export/{id}/download"));
        let file = download(&app, &id).await;
        assert_eq!(&file[..4], b"fLaC", "a FLAC file");
        assert_eq!(row["fileSize"].as_u64(), Some(file.len() as u64));
        // The mix is as long as its longest track: 3 s at 44.1 kHz, read from STREAMINFO's total samples.
        let total = u64::from_be_bytes([0, 0, 0, file[21] & 0x0f, file[22], file[23], file[24], file[25]]);
        assert_eq!(total, 3 * 44_100, "frames in the FLAC");

        // The session page lists it with a download link.
        let page = app.get(&format!("/studio/sessions/{session}")).await.text().await.expect("page");
        assert!(page.contains(&format!("/api/export/{id}/download")), "download link on the page");
        let (live, dead) = omnisonic_store::jobs::counts(&app.db, "exports").await.expect("counts");
        assert_eq!((live, dead), (0, 0), "the finished job left the database queue");
    }

    async fn one_request_id_follows_an_export_to_the_websocket(app: TestApp) {
        app.sign_in("traced@example.com").await;
        let session = create_session(&app, 44_100).await;
        let take = upload(&app, "take.wav", stereo_wav(0.5, 44_100, 330.0)).await;
        assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
        let mut socket = connect(&app, session).await;
        let request = app.browser.client.post(app.url("/api/export")).header("x-request-id", "trace-export-1");
        let response = app.browser.with_csrf_header(request)
            .json(&serde_json::json!({ "sessionId": session, "format": "wav" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 202);
        assert_eq!(response.headers()["x-request-id"], "trace-export-1");
        // Queued by the request, then progress and the result from the worker: all name the request.
        let queued = next_event(&mut socket, "export.progress").await;
        assert_eq!((queued["data"]["status"].as_str(), queued["requestId"].as_str()), (Some("pending"), Some("trace-export-1")));
        let completed = next_event(&mut socket, "export.completed").await;
        assert_eq!(completed["requestId"], "trace-export-1", "{completed}");
    }

    async fn only_the_owner_may_export_or_see_an_export(app: TestApp) {
        app.sign_in("owner@example.com").await;
        let session = create_session(&app, 44_100).await;
        let take = upload(&app, "take.wav", stereo_wav(1.0, 44_100, 440.0)).await;
        assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
        let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "wav" })).await;
        assert_eq!(response.status(), 202);
        let id = response.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_owned();

        let anonymous = app.new_browser();
        expect_problem(anonymous.post_json("/api/export", &serde_json::json!({ "sessionId": session })).await, 401, "unauthenticated").await;
        expect_problem(anonymous.get(&format!("/api/export/{id}")).await, 401, "unauthenticated").await;

        let other = app.new_browser();
        app.create_user("other@example.com", crate::helpers::TEST_PASSWORD).await;
        assert_eq!(other.sign_in_with_password("other@example.com", crate::helpers::TEST_PASSWORD).await.status(), 303);
        other.refresh_csrf().await;
        expect_problem(other.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "wav" })).await, 403, "forbidden").await;
        expect_problem(other.client.get(other.url(&format!("/api/export/{id}"))).send().await.expect("GET"), 403, "forbidden").await;
        expect_problem(other.client.get(other.url(&format!("/api/export/{id}/download"))).send().await.expect("GET"), 403, "forbidden").await;
        let form = other.post_form(&format!("/studio/sessions/{session}/exports"), &[("format", "flac")]).await;
        assert_eq!(form.status(), 403, "the page's export button is the owner's only");
        expect_problem(app.get(&format!("/api/export/{}", Uuid::now_v7())).await, 404, "not_found").await;
    }

    async fn bad_requests_are_refused_before_anything_is_queued(app: TestApp) {
        app.sign_in("careful@example.com").await;
        let session = create_session(&app, 44_100).await;
        // Nothing to mix yet.
        let empty = app.post_json("/api/export", &serde_json::json!({ "sessionId": session })).await;
        let problem = expect_problem(empty, 422, "validation_failed").await;
        assert!(problem.to_string().contains("no unmuted tracks"), "{problem}");
        let take = upload(&app, "take.wav", stereo_wav(1.0, 44_100, 440.0)).await;
        assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
        for (body, field) in [
            (serde_json::json!({ "sessionId": session, "format": "ogg" }), "format"),
            (serde_json::json!({ "sessionId": session, "format": "wav", "bitDepth": 8 }), "bitDepth"),
            (serde_json::json!({ "sessionId": session, "format": "flac", "bitDepth": 24 }), "bitDepth"),
            (serde_json::json!({ "sessionId": session, "format": "mp3", "bitrate": 128 }), "bitrate"),
            (serde_json::json!({ "sessionId": session, "format": "flac", "bitrate": 320 }), "bitrate"),
        ] {
            let problem = expect_problem(app.post_json("/api/export", &body).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        expect_problem(app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "colour": "red" })).await, 422, "validation_failed").await;
        expect_problem(app.post_json("/api/export", &serde_json::json!({ "sessionId": Uuid::now_v7() })).await, 404, "not_found").await;
        // A file that is not audio cannot become a track; the page says why.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.resize(256, 0);
        let picture = upload(&app, "cover.png", png).await;
        let refused = add_track(&app, session, picture, "Cover").await;
        assert_eq!(refused.status(), 422);
        assert!(refused.text().await.expect("page").contains("cover.png cannot be a track: it is image/png, not audio"));
        // Nor can a browser-direct upload whose parts are still arriving.
        let direct = app.post_json("/api/upload/direct", &serde_json::json!({ "name": "big.wav", "size": 6_000_000 })).await;
        assert_eq!(direct.status(), 201);
        let pending = direct.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
        let refused = add_track(&app, session, Uuid::parse_str(&pending).expect("uuid"), "Big").await;
        assert_eq!(refused.status(), 422);
        assert!(refused.text().await.expect("page").contains("big.wav cannot be a track: it is still uploading"));
        assert_eq!(omnisonic_store::studio::list_tracks(&app.db, session).await.expect("tracks").len(), 1, "no track added");
        let (live, _) = omnisonic_store::jobs::counts(&app.db, "exports").await.expect("counts");
        assert_eq!(live, 0, "nothing was queued");
    }

    async fn a_stem_file_becomes_one_track_per_stream(app: TestApp) {
        app.sign_in("stems@example.com").await;
        let session = create_session(&app, 44_100).await;
        let stems = std::fs::read(shared_data().join("audio/falcon69.stem.mp4")).expect("the real stem file");
        let id = upload(&app, "falcon69.stem.mp4", stems).await;
        assert_eq!(add_track(&app, session, id, "Falcon").await.status(), 303);
        let tracks = omnisonic_store::studio::list_tracks(&app.db, session).await.expect("tracks");
        let names: Vec<&str> = tracks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Falcon · mix", "Falcon · stream 2", "Falcon · stream 3", "Falcon · stream 4", "Falcon · stream 5"]);
        assert_eq!(tracks.iter().map(|t| t.mute).collect::<Vec<_>>(), [true, false, false, false, false], "the full mix starts muted");
        assert_eq!(tracks.iter().map(|t| t.stream_index).collect::<Vec<_>>(), [Some(0), Some(1), Some(2), Some(3), Some(4)]);
        // And the four stems export.
        let mut socket = connect(&app, session).await;
        let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "mp3", "bitrate": 192 })).await;
        assert_eq!(response.status(), 202);
        let completed = next_event(&mut socket, "export.completed").await;
        let id = completed["data"]["exportId"].as_str().expect("id").to_owned();
        let file = download(&app, &id).await;
        assert!(file.starts_with(b"ID3") || (file[0] == 0xff && file[1] & 0xe0 == 0xe0), "an MP3 file");
    }
}

crate::helpers::both_backends_with_workers! {
    ["--export-max-duration-seconds", "1"];
    async fn a_mix_longer_than_the_limit_is_refused_when_asked_for(app: TestApp) {
        app.sign_in("long@example.com").await;
        let session = create_session(&app, 44_100).await;
        let take = upload(&app, "take.wav", stereo_wav(2.0, 44_100, 440.0)).await;
        assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
        let problem = expect_problem(
            app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "wav" })).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(problem.to_string().contains("limited to 1 seconds"), "{problem}");
        // The page's button says the same.
        let page = app.post_form(&format!("/studio/sessions/{session}/exports"), &[("format", "wav16")]).await;
        assert_eq!(page.status(), 422);
        assert!(page.text().await.expect("page").contains("limited to 1 seconds"));
        // A track whose length was unknown when it was added (some files do not say) passes that check; the
        // worker then stops the mix at the limit and marks the export failed.
        {
            use sea_orm::{ConnectionTrait, sea_query::{Expr, Query}};
            let clear = Query::update().table("tracks").value("duration_ms", Expr::val(Option::<i64>::None)).to_owned();
            app.db.execute(&clear).await.expect("forget the length");
        }
        let mut socket = connect(&app, session).await;
        let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "wav" })).await;
        assert_eq!(response.status(), 202);
        let failed = next_event(&mut socket, "export.failed").await;
        assert_eq!(failed["data"]["error"], "the mix is longer than 1 seconds (EXPORT_MAX_DURATION_SECONDS)");
        let id = failed["data"]["exportId"].as_str().expect("id").to_owned();
        let row = export_row(&app, &id).await;
        assert_eq!((row["status"].as_str(), row["fileUrl"].as_str()), (Some("failed"), None));
        assert_eq!(row["errorMessage"], "the mix is longer than 1 seconds (EXPORT_MAX_DURATION_SECONDS)");
        expect_problem(app.get(&format!("/api/export/{id}/download")).await, 409, "conflict").await;
        let (live, dead) = omnisonic_store::jobs::counts(&app.db, "exports").await.expect("counts");
        assert_eq!((live, dead), (0, 1), "not retried: a bad input stays failed");

        // At the edge: a mix exactly as long as the limit is accepted and completes.
        let edge = create_session(&app, 44_100).await;
        let second = upload(&app, "second.wav", stereo_wav(1.0, 44_100, 440.0)).await;
        assert_eq!(add_track(&app, edge, second, "One second").await.status(), 303);
        let mut socket = connect(&app, edge).await;
        let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": edge, "format": "wav" })).await;
        assert_eq!(response.status(), 202);
        next_event(&mut socket, "export.completed").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_realtime_gateway_checks_who_connects() {
    let app = spawn_app_with(Backend::Sqlite, settings(&[])).await.expect("SQLite");
    // Anonymous: refused before the upgrade.
    let request = format!("ws://{}/realtime", app.address).into_client_request().expect("request");
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    app.sign_in("viewer@example.com").await;
    // Another site's page cannot ride on the cookie.
    let mut request = format!("ws://{}/realtime", app.address).into_client_request().expect("request");
    request.headers_mut().insert("cookie", app.browser.cookie_header().parse().expect("cookie"));
    request.headers_mut().insert("origin", "https://evil.example".parse().expect("origin"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    // Signed in, same origin: joining a session that does not exist is an error message, not a crash.
    let session = create_session(&app, 48_000).await;
    let mut socket = connect(&app, session).await;
    let ghost = Uuid::now_v7();
    socket
        .send(Message::text(serde_json::json!({ "type": "join", "sessionId": ghost }).to_string()))
        .await
        .expect("send");
    let error = next_event(&mut socket, "error").await;
    assert_eq!(error["data"]["code"], "not_found");
    socket.send(Message::text(r#"{"type":"ping"}"#)).await.expect("send");
    next_event(&mut socket, "pong").await;
    // Presence: a second viewer joining is announced, and learns who is already there.
    let second = app.new_browser();
    app.create_user("second@example.com", crate::helpers::TEST_PASSWORD).await;
    assert_eq!(second.sign_in_with_password("second@example.com", crate::helpers::TEST_PASSWORD).await.status(), 303);
    let mut request =
        format!("ws://{}/realtime?session={session}", app.address).into_client_request().expect("request");
    request.headers_mut().insert("cookie", second.cookie_header().parse().expect("cookie"));
    let (mut other, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let joined = next_event(&mut socket, "presence").await;
    assert_eq!(joined["data"]["event"], "join");
    assert_eq!(joined["data"]["name"], "second");
    let here = loop {
        let event = next_event(&mut other, "presence").await;
        if event["data"]["event"] == "here" {
            break event;
        }
    };
    assert_eq!(here["data"]["name"], "viewer");
    // A track change reaches the room.
    let take = upload(&app, "take.wav", stereo_wav(0.5, 48_000, 440.0)).await;
    assert_eq!(add_track(&app, session, take, "Take").await.status(), 303);
    let track = next_event(&mut other, "track.updated").await;
    assert_eq!(track["data"]["name"], "Take");
    let renamed = app
        .post_form(&format!("/studio/sessions/{session}"), &[("title", "Renamed live"), ("sample_rate", "48000")])
        .await;
    assert_eq!(renamed.status(), 303);
    let updated = next_event(&mut other, "session.updated").await;
    assert_eq!(updated["data"]["title"], "Renamed live");
    // Leaving is announced to those who stay.
    drop(other);
    loop {
        let event = next_event(&mut socket, "presence").await;
        if event["data"]["event"] == "leave" {
            assert_eq!(event["data"]["name"], "second");
            break;
        }
    }
}

/// PostgreSQL + Redis + S3 with web and worker in separate processes; the worker is killed (SIGKILL) in the
/// middle of an export, and after a restart the export completes exactly once — one file, one completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_export_completes_exactly_once_after_restart() {
    let (Some(redis), Some(bucket)) = (crate::queue::redis_url(), S3Bucket::fresh()) else { return };
    let data = tempfile::tempdir().expect("data dir");
    let prefix = format!("test:{}:", Uuid::now_v7().simple());
    // Both processes share the app secret (it signs local URLs; harmless on S3) through the data dir.
    let mut flags: Vec<String> = vec!["--redis-url".into(), redis, "--redis-key-prefix".into(), prefix];
    flags.extend(bucket.flags());
    let mut app_flags = vec!["--data-dir".to_owned(), data.path().to_str().expect("utf-8").to_owned()];
    app_flags.extend(flags.iter().cloned());
    let args: Vec<&str> = app_flags.iter().map(String::as_str).collect();
    // The web node runs no workers: `serve --no-workers`.
    let Some(app) = spawn_app_with(Backend::Postgres, settings(&args)).await else { return };
    app.sign_in("distributed@example.com").await;
    let session = create_session(&app, 44_100).await;
    // Work that takes a few seconds: 24 tracks of one 20 s, 48 kHz take, resampled to 44.1 kHz, to MP3.
    let take = upload(&app, "take.wav", stereo_wav(20.0, 48_000, 330.0)).await;
    for n in 0..24 {
        assert_eq!(add_track(&app, session, take, &format!("Take {n}")).await.status(), 303);
    }
    let mut socket = connect(&app, session).await;
    let response = app.post_json("/api/export", &serde_json::json!({ "sessionId": session, "format": "mp3" })).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let export_id = Uuid::parse_str(&id).expect("uuid");

    let mut worker = crate::helpers::start_worker(&app.database_url, &flags, data.path());
    // Progress published by the worker process reaches this process's WebSocket through Redis.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let event = next_event(&mut socket, "export.progress").await;
        if event["data"]["progress"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress from the worker");
    }
    worker.kill().expect("kill the worker");
    worker.wait().expect("reap");
    let row = omnisonic_store::exports::get_export(&app.db, export_id).await.expect("row");
    assert_eq!(row.status, "processing", "killed in the middle of the export (progress {})", row.progress);

    // A new worker takes the job over once the dead one's lease (3 s) runs out.
    let mut worker = crate::helpers::start_worker(&app.database_url, &flags, data.path());
    let completed = next_event(&mut socket, "export.completed").await;
    assert_eq!(completed["data"]["exportId"], id.as_str());
    let row = export_row(&app, &id).await;
    assert_eq!((row["status"].as_str(), row["progress"].as_i64()), (Some("completed"), Some(100)));
    let file = download(&app, &id).await;
    assert_eq!(row["fileSize"].as_u64(), Some(file.len() as u64));
    // Exactly one file for the export, nothing left in the staging area.
    let exports: Vec<_> = files_below(&bucket.folder.join("exports"))
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')))
        .collect();
    assert_eq!(exports.len(), 1, "one file: {exports:?}");
    assert!(exports[0].ends_with(format!("{session}/{id}.mp3")), "{exports:?}");
    // No second completion arrives.
    let again = tokio::time::timeout(Duration::from_secs(4), next_event(&mut socket, "export.completed")).await;
    assert!(again.is_err(), "completed twice");
    worker.kill().expect("kill");
    worker.wait().expect("reap");
}

/// A client that stops reading is disconnected (close code 1008) once its queue is full, instead of the server
/// buffering for it without bound; the server stays healthy. Published through Redis, as a worker would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_too_slow_to_read_is_dropped_not_buffered() {
    let Some(redis) = crate::queue::redis_url() else { return };
    let app = spawn_app_with(Backend::Sqlite, settings(&["--redis-url", &redis])).await.expect("SQLite");
    app.sign_in("slow@example.com").await;
    let session = create_session(&app, 44_100).await;
    let mut socket = connect(&app, session).await;
    // The app's hub prefixes channels with REDIS_KEY_PREFIX (default `omnisonic:`); a worker's hub does the same.
    let hub = omnisonic_platform::PubSub::redis_with_prefix(&redis, "omnisonic:").await.expect("Redis");
    let channel = format!("session:{session}");
    let padding = "x".repeat(8192);
    let sent = 5_000;
    for n in 0..sent {
        let message =
            serde_json::json!({ "type": "track.updated", "data": { "n": n, "padding": padding } }).to_string();
        hub.publish(&channel, &message).await.expect("publish");
    }
    // Now read: what was already in flight arrives, then the end: a close frame (1008) when we read in time to
    // take it, else the connection was dropped after the close grace period. Either way, well short of everything.
    let mut received = 0;
    let ending = loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("the server ends the connection")
        {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(Message::Close(frame))) => break Some(frame.expect("a close frame with a code")),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    if let Some(close) = ending {
        assert_eq!(u16::from(close.code), 1008, "policy violation: {close:?}");
        assert!(close.reason.contains("too slow"), "{close:?}");
    }
    assert!(received < sent, "dropped before everything was delivered ({received} of {sent})");
    assert_eq!(app.get("/healthz").await.status(), 200);
}
