//! Uploads (spec 1.2) as a client meets them, on both storage backends — local files and a real S3 server
//! (s3s-fs, started by scripts/services.sh) — and on both databases.

use crate::helpers::{Backend, S3Bucket, TestApp, files_below, settings, spawn_app_with};
use sha2::Digest;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which object storage a test runs on.
#[derive(Clone, Copy, Debug)]
enum Store {
    Local,
    S3,
}

/// The app plus where its objects end up on disk (to check that nothing is left behind).
struct Setup {
    app: TestApp,
    objects: PathBuf,
    storage: omnisonic_platform::StorageConfig,
    _data: tempfile::TempDir,
}

async fn spawn(backend: Backend, store: Store) -> Option<Setup> {
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().to_str().expect("utf-8").to_owned();
    let (args, objects, storage): (Vec<String>, PathBuf, omnisonic_platform::StorageConfig) = match store {
        Store::Local => {
            let root = data.path().join("objects");
            (
                vec!["--data-dir".into(), data_dir.clone()],
                root.clone(),
                omnisonic_platform::StorageConfig::Local { root },
            )
        }
        Store::S3 => {
            let bucket = S3Bucket::fresh()?;
            let mut args = vec!["--data-dir".to_owned(), data_dir];
            args.extend(bucket.flags());
            (args, bucket.folder.clone(), bucket.config())
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let app = spawn_app_with(backend, settings(&args)).await?;
    Some(Setup { app, objects, storage, _data: data })
}

/// The URL with one character of its signature changed (same length, so it is well-formed but wrong).
fn tamper(url: &str) -> String {
    let marker = if url.contains("X-Amz-Signature=") { "X-Amz-Signature=" } else { "sig=" };
    let at = url.find(marker).expect("a signature") + marker.len();
    let old = url.as_bytes()[at];
    let new = if old == b'a' { 'b' } else { 'a' };
    format!("{}{new}{}", &url[..at], &url[at + 1..])
}

/// A mono 16-bit 44.1 kHz WAV of `samples` samples.
fn wav(samples: usize) -> Vec<u8> {
    let data_len = (samples * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&88_200u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend((0..samples).flat_map(|i| ((i % 256) as i16 * 64).to_le_bytes()));
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

async fn upload(app: &TestApp, name: &str, body: Vec<u8>) -> reqwest::Response {
    let url = format!(
        "{}?name={}",
        app.url("/api/upload"),
        url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
    );
    app.browser.with_csrf_header(app.browser.client.post(url)).body(body).send().await.expect("upload")
}

async fn upload_count(app: &TestApp) -> i64 {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, "SELECT COUNT(*) AS n FROM uploads".to_owned()))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn stores_serves_and_deletes(setup: Setup) {
    let app = &setup.app;
    let anonymous = app.new_browser();
    let refused = anonymous.client.post(app.url("/api/upload")).body(wav(10)).send().await.expect("upload");
    crate::helpers::expect_problem(refused, 401, "unauthenticated").await;

    app.sign_in("owner@example.test").await;
    let file = wav(20_000);
    // A hostile name is kept as metadata only, cleaned; the key is generated.
    let response = upload(app, "../../etc/\u{0}beat\n.wav", file.clone()).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.expect("json");
    assert_eq!(created["fileName"], "beat.wav");
    assert_eq!(created["fileSize"], file.len());
    assert_eq!(created["mimeType"], "audio/x-wav");
    assert_eq!(created["sha256"], sha256_hex(&file));
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(
        files_below(&setup.objects)
            .iter()
            .all(|p| !p.to_string_lossy().contains("..") && !p.to_string_lossy().contains("beat"))
    );

    // Download through the URL handed out, whole and by range.
    let url = created["url"].as_str().expect("url").to_owned();
    let downloaded = app.client.get(&url).send().await.expect("download");
    assert_eq!(downloaded.status(), 200, "{url}");
    assert_eq!(downloaded.bytes().await.expect("bytes").as_ref(), file.as_slice());
    let ranged = app.client.get(&url).header("range", "bytes=0-3").send().await.expect("range");
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.expect("bytes").as_ref(), b"RIFF");
    // A tampered signature is refused.
    let tampered = tamper(&url);
    assert_eq!(app.client.get(&tampered).send().await.expect("tampered").status(), 403, "{tampered}");

    // Metadata: the owner sees it; another user gets 403 and cannot delete it.
    let shown: serde_json::Value = app
        .browser
        .client
        .get(app.url(&format!("/api/upload/{id}")))
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["sha256"], created["sha256"]);
    let other = app.new_browser();
    app.create_user("other@example.test", crate::helpers::TEST_PASSWORD).await;
    other.sign_in_with_password("other@example.test", crate::helpers::TEST_PASSWORD).await;
    crate::helpers::expect_problem(
        other.client.get(app.url(&format!("/api/upload/{id}"))).send().await.expect("show"),
        403,
        "forbidden",
    )
    .await;
    let other_delete = other
        .with_csrf_header(other.client.delete(app.url(&format!("/api/upload/{id}"))))
        .send()
        .await
        .expect("delete");
    crate::helpers::expect_problem(other_delete, 403, "forbidden").await;
    assert_eq!(upload_count(app).await, 1);

    // The owner deletes it: row and object are gone.
    let deleted = app
        .browser
        .with_csrf_header(app.browser.client.post(app.url(&format!("/api/upload/{id}/delete"))))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    assert_eq!(upload_count(app).await, 0);
    assert!(files_below(&setup.objects).is_empty(), "{:?}", files_below(&setup.objects));
    crate::helpers::expect_problem(
        app.browser.client.get(app.url(&format!("/api/upload/{id}"))).send().await.expect("show"),
        404,
        "not_found",
    )
    .await;
}

async fn large_files_go_multipart_and_bad_input_leaves_nothing(setup: Setup) {
    let app = &setup.app;
    app.sign_in("big@example.test").await;
    // 12 MB: three 5 MiB parts.
    let big = wav(6_000_000);
    let response = upload(app, "long take.wav", big.clone()).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.expect("json");
    assert_eq!(created["sha256"], sha256_hex(&big));
    let url = created["url"].as_str().expect("url");
    let downloaded = app.client.get(url).send().await.expect("download").bytes().await.expect("bytes");
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&big));
    let before = files_below(&setup.objects);
    assert_eq!(before.len(), 1, "{before:?}");

    // Not media, whatever the name says: 415, nothing stored.
    let text = b"hello, I am definitely a song".repeat(100);
    let response = upload(app, "song.wav", text).await;
    crate::helpers::expect_problem(response, 415, "unsupported_media_type").await;

    // Over 100 MB while streaming (no Content-Length): 413, nothing stored.
    let limit = omnisonic_domain::upload::MAX_UPLOAD_BYTES as usize;
    let chunk = bytes::Bytes::from(vec![0u8; 1024 * 1024]);
    let head = bytes::Bytes::from(wav(10));
    let chunks = std::iter::once(head).chain(std::iter::repeat_n(chunk, limit / (1024 * 1024) + 1));
    let stream = futures::stream::iter(chunks.map(Ok::<_, std::io::Error>));
    let response = app
        .browser
        .with_csrf_header(app.browser.client.post(app.url("/api/upload?name=huge.wav")))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    if let Ok(response) = response {
        crate::helpers::expect_problem(response, 413, "payload_too_large").await;
    }

    // A declared size over the limit: 413 before a byte of the body is read.
    let declared = raw_upload(app, Some(limit as u64 + 1), &wav(10), true).await;
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");

    // A client that goes away mid-upload (8 MB of a declared 20 MB): no row, no object.
    let partial = wav(4_000_000);
    raw_upload(app, Some(20 * 1024 * 1024), &partial, false).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    assert_eq!(upload_count(app).await, 1, "only the big file");
    assert_eq!(files_below(&setup.objects), before, "no object was left behind");
}

/// Sends an upload by hand over TCP: the headers (with `Content-Length: declared`) and `body`, then either reads
/// the answer or hangs up without finishing.
async fn raw_upload(app: &TestApp, declared: Option<u64>, body: &[u8], read_answer: bool) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.address).await.expect("connect");
    let csrf = app.browser.csrf_token().expect("signed in");
    let mut head = format!(
        "POST /api/upload?name=x.wav HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/octet-stream\r\n",
        app.address,
        app.browser.cookie_header()
    );
    if let Some(length) = declared {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("headers");
    let _ = stream.write_all(body).await;
    if !read_answer {
        return String::new();
    }
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answer in time")
        .unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

async fn cleanup_removes_only_old_unused_uploads(setup: Setup) {
    let app = &setup.app;
    let owner = app.sign_in("tidy@example.test").await;
    let mut ids = Vec::new();
    for name in ["old-unused.wav", "old-used.wav", "new-unused.wav"] {
        let created: serde_json::Value = upload(app, name, wav(1000)).await.json().await.expect("json");
        ids.push(uuid::Uuid::parse_str(created["id"].as_str().expect("id")).expect("uuid"));
    }
    let session = omnisonic_store::studio::create_session(
        &app.db,
        owner,
        &omnisonic_domain::studio::StudioSessionInput {
            title: "Uses a file".into(),
            description: None,
            bpm: None,
            sample_rate: 48_000,
        }
        .validate()
        .expect("valid"),
    )
    .await
    .expect("session");
    // The "used" upload plays in a track, and its session link is gone (as when it was attached again to a
    // session that was later deleted): the track still counts as a use.
    let track = omnisonic_domain::studio::TrackInput {
        name: "Kick".into(),
        gain_db: 0.0,
        pan: 0.0,
        mute: false,
        solo: false,
        start_offset_samples: 0,
    };
    omnisonic_store::studio::add_track(
        &app.db,
        session.id,
        &track,
        Some(omnisonic_store::studio::TrackSource { upload_id: ids[1], stream_index: None, duration_ms: None }),
    )
    .await
    .expect("track");
    {
        use sea_orm::{
            ConnectionTrait,
            sea_query::{Alias, Expr, ExprTrait, Query},
        };
        let long_ago = chrono::Utc::now() - chrono::Duration::days(31);
        let update = Query::update()
            .table(Alias::new("uploads"))
            .value(Alias::new("created_at"), long_ago)
            .value(Alias::new("session_id"), Option::<uuid::Uuid>::None)
            .and_where(Expr::col(Alias::new("id")).is_in([ids[0], ids[1]]))
            .to_owned();
        app.db.execute(&update).await.expect("age two uploads");
    }
    let storage = omnisonic_platform::Storage::new(&setup.storage, b"test").expect("storage");
    let age = omnisonic_app::maintenance::ORPHAN_AGE;
    let dry = omnisonic_app::maintenance::cleanup_uploads(&app.db, &storage, age, true).await.expect("dry run");
    assert_eq!((dry.uploads, dry.bytes), (1, wav(1000).len() as u64));
    assert_eq!(upload_count(app).await, 3, "a dry run deletes nothing");
    assert_eq!(files_below(&setup.objects).len(), 3);
    let done = omnisonic_app::maintenance::cleanup_uploads(&app.db, &storage, age, false).await.expect("cleanup");
    assert_eq!(done.uploads, 1);
    assert_eq!(upload_count(app).await, 2);
    assert_eq!(files_below(&setup.objects).len(), 2);
    assert!(omnisonic_store::uploads::get_upload(&app.db, ids[0]).await.is_err(), "the old unused upload is gone");
}

async fn the_session_page_lists_attaches_and_deletes_uploads(setup: Setup) {
    let app = &setup.app;
    app.sign_in("page@example.test").await;
    let created = app.post_form("/studio/sessions", &[("title", "With files"), ("sample_rate", "48000")]).await;
    let session_path = created.headers()["location"].to_str().expect("ascii").to_owned();
    let session_id = uuid::Uuid::parse_str(session_path.rsplit('/').next().expect("id")).expect("uuid");
    let upload_json: serde_json::Value = upload(app, "kick.wav", wav(500)).await.json().await.expect("json");
    let upload_id = upload_json["id"].as_str().expect("id").to_owned();

    let page = app.browser.get(&session_path).await.text().await.expect("html");
    assert!(page.contains("kick.wav") && page.contains("Add as track") && page.contains("upload-zone"), "{page}");

    // Add it as a track: the track plays it, and the upload now belongs to the session (cleanup keeps it).
    let added =
        app.post_form(&format!("{session_path}/tracks"), &[("name", "kick.wav"), ("upload_id", &upload_id)]).await;
    assert_eq!(added.status(), 303);
    let tracks = omnisonic_store::studio::list_tracks(&app.db, session_id).await.expect("tracks");
    assert_eq!(tracks[0].upload_id.map(|u| u.to_string()), Some(upload_id.clone()));
    let stored = omnisonic_store::uploads::get_upload(&app.db, uuid::Uuid::parse_str(&upload_id).expect("uuid"))
        .await
        .expect("upload");
    assert_eq!(stored.session_id, Some(session_id));

    // Another user can neither use this upload in their own session nor delete it through the page.
    let other = app.new_browser();
    app.create_user("thief@example.test", crate::helpers::TEST_PASSWORD).await;
    other.sign_in_with_password("thief@example.test", crate::helpers::TEST_PASSWORD).await;
    let theirs = other.post_form("/studio/sessions", &[("title", "Theirs"), ("sample_rate", "48000")]).await;
    let their_path = theirs.headers()["location"].to_str().expect("ascii").to_owned();
    let stolen = other.post_form(&format!("{their_path}/tracks"), &[("name", "x"), ("upload_id", &upload_id)]).await;
    assert_eq!(stolen.status(), 403);
    let deleted = other.post_form(&format!("{their_path}/uploads/{upload_id}/delete"), &[]).await;
    assert_eq!(deleted.status(), 403);
    assert_eq!(upload_count(app).await, 1);

    // The owner deletes it from the page: object and row go, the track stays without a file.
    let gone = app.post_form(&format!("{session_path}/uploads/{upload_id}/delete"), &[]).await;
    assert_eq!(gone.status(), 303);
    assert_eq!(upload_count(app).await, 0);
    assert!(files_below(&setup.objects).is_empty());
    let tracks = omnisonic_store::studio::list_tracks(&app.db, session_id).await.expect("tracks");
    assert_eq!((tracks.len(), tracks[0].upload_id), (1, None));
}

/// Sends a direct upload's parts to their URLs; returns the `complete` body.
async fn send_parts(app: &TestApp, started: &serde_json::Value, file: &[u8]) -> serde_json::Value {
    let part_size = started["partSize"].as_u64().expect("partSize") as usize;
    let mut sent = Vec::new();
    for part in started["parts"].as_array().expect("parts") {
        let number = part["partNumber"].as_u64().expect("number") as usize;
        let chunk = file[(number - 1) * part_size..(number * part_size).min(file.len())].to_vec();
        let response = app.client.put(part["url"].as_str().expect("url")).body(chunk).send().await.expect("put part");
        assert_eq!(response.status(), 200, "part {number}");
        let etag = response.headers()["etag"].to_str().expect("ascii").to_owned();
        sent.push(serde_json::json!({"partNumber": number, "etag": etag}));
    }
    serde_json::json!({ "parts": sent })
}

async fn browser_direct_uploads_assemble_parts_and_check_them(setup: Setup) {
    let app = &setup.app;
    app.sign_in("direct@example.test").await;
    let file = wav(3_000_000); // 6 MB: two parts
    let started =
        app.post_json("/api/upload/direct", &serde_json::json!({"name": "direct.wav", "size": file.len()})).await;
    assert_eq!(started.status(), 201);
    let started: serde_json::Value = started.json().await.expect("json");
    assert_eq!(started["parts"].as_array().expect("parts").len(), 2);
    let id = started["id"].as_str().expect("id").to_owned();

    // A tampered part URL is refused.
    let first = started["parts"][0]["url"].as_str().expect("url");
    let tampered = app.client.put(tamper(first)).body(vec![0u8; 10]).send().await.expect("put");
    assert_eq!(tampered.status(), 403);

    if first.contains("sig=") {
        // Local: the part URL is bound to the part's exact length.
        let oversized = app.client.put(first).body(vec![0u8; 5 * 1024 * 1024 + 1]).send().await.expect("put");
        assert_eq!(oversized.status(), 413);
    } else {
        // S3 cannot bind the length into the URL: parts that do not add up to the declared size are refused at
        // completion, and the object and row go.
        let started: serde_json::Value = app
            .post_json("/api/upload/direct", &serde_json::json!({"name": "liar.wav", "size": 100}))
            .await
            .json()
            .await
            .expect("json");
        let liar = started["id"].as_str().expect("id").to_owned();
        let response =
            app.client.put(started["parts"][0]["url"].as_str().expect("url")).body(wav(100)).send().await.expect("put");
        let etag = response.headers()["etag"].to_str().expect("ascii").to_owned();
        let complete = serde_json::json!({"parts": [{"partNumber": 1, "etag": etag}]});
        crate::helpers::expect_problem(
            app.post_json(&format!("/api/upload/{liar}/complete"), &complete).await,
            422,
            "validation_failed",
        )
        .await;
        crate::helpers::expect_problem(
            app.browser.client.get(app.url(&format!("/api/upload/{liar}"))).send().await.expect("show"),
            404,
            "not_found",
        )
        .await;
    }

    // Resume: fresh URLs for part 2 work as well as the first ones.
    let fresh: serde_json::Value = app
        .post_json(&format!("/api/upload/{id}/parts"), &serde_json::json!({"partNumbers": [2]}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fresh["parts"][0]["partNumber"], 2);

    let complete = send_parts(app, &started, &file).await;
    // Completing with a part missing is refused and leaves the upload pending, so it can still be completed.
    let partial = serde_json::json!({ "parts": [complete["parts"][0].clone()] });
    crate::helpers::expect_problem(
        app.post_json(&format!("/api/upload/{id}/complete"), &partial).await,
        422,
        "validation_failed",
    )
    .await;
    let done = app.post_json(&format!("/api/upload/{id}/complete"), &complete).await;
    assert_eq!(done.status(), 200);
    let done: serde_json::Value = done.json().await.expect("json");
    assert_eq!(done["sha256"], sha256_hex(&file));
    assert_eq!(done["fileSize"], file.len());
    assert_eq!(done["mimeType"], "audio/x-wav");
    let downloaded = app
        .client
        .get(done["url"].as_str().expect("url"))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&file));
    let again = app.post_json(&format!("/api/upload/{id}/complete"), &complete).await;
    crate::helpers::expect_problem(again, 409, "conflict").await;

    // Bytes that are not media are refused at completion and deleted.
    let text = b"not a song at all ".repeat(1000);
    let started: serde_json::Value = app
        .post_json("/api/upload/direct", &serde_json::json!({"name": "fake.wav", "size": text.len()}))
        .await
        .json()
        .await
        .expect("json");
    let id = started["id"].as_str().expect("id").to_owned();
    let complete = send_parts(app, &started, &text).await;
    crate::helpers::expect_problem(
        app.post_json(&format!("/api/upload/{id}/complete"), &complete).await,
        415,
        "unsupported_media_type",
    )
    .await;
    crate::helpers::expect_problem(
        app.browser.client.get(app.url(&format!("/api/upload/{id}"))).send().await.expect("show"),
        404,
        "not_found",
    )
    .await;

    // Over the limit before anything is sent.
    let huge = app
        .post_json(
            "/api/upload/direct",
            &serde_json::json!({"name": "huge.wav", "size": omnisonic_domain::upload::MAX_UPLOAD_BYTES + 1}),
        )
        .await;
    crate::helpers::expect_problem(huge, 413, "payload_too_large").await;

    // An abandoned direct upload is aborted by the cleanup job after a day.
    let started: serde_json::Value = app
        .post_json("/api/upload/direct", &serde_json::json!({"name": "left.wav", "size": 100}))
        .await
        .json()
        .await
        .expect("json");
    let abandoned = uuid::Uuid::parse_str(started["id"].as_str().expect("id")).expect("uuid");
    {
        use sea_orm::{
            ConnectionTrait,
            sea_query::{Alias, Expr, ExprTrait, Query},
        };
        let update = Query::update()
            .table(Alias::new("uploads"))
            .value(Alias::new("created_at"), chrono::Utc::now() - chrono::Duration::days(2))
            .and_where(Expr::col(Alias::new("id")).eq(abandoned))
            .to_owned();
        app.db.execute(&update).await.expect("age");
    }
    let storage = omnisonic_platform::Storage::new(&setup.storage, b"test").expect("storage");
    let report =
        omnisonic_app::maintenance::cleanup_uploads(&app.db, &storage, omnisonic_app::maintenance::ORPHAN_AGE, false)
            .await
            .expect("cleanup");
    assert_eq!(report.aborted, 1);
    assert!(omnisonic_store::uploads::get_upload(&app.db, abandoned).await.is_err());
    assert_eq!(upload_count(app).await, 1, "only the completed direct upload");
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_local() {
                    super::$name(spawn(Backend::Sqlite, Store::Local).await.expect("SQLite + local")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_s3() {
                    if let Some(setup) = spawn(Backend::Sqlite, Store::S3).await { super::$name(setup).await }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_local() {
                    if let Some(setup) = spawn(Backend::Postgres, Store::Local).await { super::$name(setup).await }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_s3() {
                    if let Some(setup) = spawn(Backend::Postgres, Store::S3).await { super::$name(setup).await }
                }
            }
        )*
    };
}

on_every_backend!(
    stores_serves_and_deletes,
    large_files_go_multipart_and_bad_input_leaves_nothing,
    cleanup_removes_only_old_unused_uploads,
    the_session_page_lists_attaches_and_deletes_uploads,
    browser_direct_uploads_assemble_parts_and_check_them,
);
