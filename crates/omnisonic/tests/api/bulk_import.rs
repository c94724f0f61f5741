//! Bulk ISRC import (spec 2.3) end to end: files built from the real catalogue in `../shared/data` with faults
//! injected, uploaded over HTTP, imported by the worker; exact counts, the error report, re-import, status while
//! running, limits at their edges, API tokens, and a worker killed in the middle of a 200,000-row import.

use crate::helpers::{Backend, TestApp, expect_problem, settings, shared_data, spawn_app_with, spawn_app_with_workers};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One row of the spec's columns.
#[derive(Clone, Debug)]
struct Row {
    isrc: String,
    title: String,
    artist: String,
    released_at: String,
    genre: String,
}

/// The real catalogue in the spec's columns: `isrc/tracks_updated.csv` joined with each recording's first artist
/// (`catalog/artist_tracks.csv`) and that artist's name and first genre (`catalog/artists.csv`).
fn real_rows() -> Vec<Row> {
    let data = shared_data();
    let mut artists: HashMap<String, (String, String)> = HashMap::new();
    let mut reader = csv::Reader::from_path(data.join("catalog/artists.csv")).expect("artists.csv");
    for record in reader.records() {
        let r = record.expect("artist row");
        let genre = r[2].trim_matches(['[', ']']).split(',').next().unwrap_or("").trim().trim_matches(['\'', '"']);
        artists.insert(r[0].to_owned(), (r[1].to_owned(), genre.to_owned()));
    }
    let mut first_artist: HashMap<String, String> = HashMap::new();
    let mut reader = csv::Reader::from_path(data.join("catalog/artist_tracks.csv")).expect("artist_tracks.csv");
    for record in reader.records() {
        let r = record.expect("artist_tracks row");
        first_artist.entry(r[1].to_ascii_uppercase()).or_insert_with(|| r[0].to_owned());
    }
    let mut rows = Vec::new();
    let mut reader = csv::Reader::from_path(data.join("isrc/tracks_updated.csv")).expect("tracks_updated.csv");
    for record in reader.records() {
        let r = record.expect("track row");
        let Some((artist, genre)) = first_artist.get(&r[0].to_ascii_uppercase()).and_then(|a| artists.get(a)) else {
            continue;
        };
        rows.push(Row {
            isrc: r[0].to_owned(),
            title: r[2].to_owned(),
            artist: artist.clone(),
            released_at: r[4].to_owned(),
            genre: genre.clone(),
        });
    }
    assert!(rows.len() > 7000, "the real catalogue joins to {} rows", rows.len());
    rows
}

fn csv_line(fields: &[&str]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    writer.write_record(fields).expect("csv");
    writer.into_inner().expect("csv")
}

fn row_line(row: &Row) -> Vec<u8> {
    csv_line(&[&row.isrc, &row.title, &row.artist, &row.released_at, &row.genre, "ignored"])
}

/// What a file with faults should come to.
struct Expected {
    records: i64,
    accepted: i64,
    rejected: i64,
    warnings: i64,
    /// Distinct valid ISRCs.
    recordings: u64,
    /// (line, column, reason fragment) of every finding, in line order.
    findings: Vec<(i64, &'static str, &'static str)>,
}

/// The real rows as CSV (header in mixed case, behind a byte order mark, with an unknown column), with faults
/// spliced in: a bad ISRC, a missing title, a missing artist, an unclosed quote, Latin-1 text, a later duplicate
/// of an earlier ISRC, and a last line cut off in the middle of its ISRC.
fn real_csv_with_faults(rows: &[Row]) -> (Vec<u8>, Expected, Row) {
    let mut file = b"\xEF\xBB\xBFISRC,Title,ARTIST,Released_At,genre,source\n".to_vec();
    let mut line = 1i64;
    let mut findings = Vec::new();
    let third = rows.len() / 3;
    let duplicate = Row { title: format!("{} (Remastered)", rows[10].title), ..rows[10].clone() };
    for (i, row) in rows.iter().enumerate() {
        file.extend(row_line(row));
        line += 1;
        match i {
            100 => {
                file.extend(csv_line(&["XX-123", "Bad code", "Someone", "2020-01-01", "pop", "x"]));
                line += 1;
                findings.push((line, "isrc", "is not an ISRC"));
            }
            200 => {
                file.extend(csv_line(&["GBAYE2000001", "", "Someone", "2020-01-01", "pop", "x"]));
                line += 1;
                findings.push((line, "title", "is required"));
                file.extend(csv_line(&["GBAYE2000002", "A title", " ", "2020-01-01", "pop", "x"]));
                line += 1;
                findings.push((line, "artist", "is required"));
            }
            i if i == third => {
                // The quote never closes: only this line is lost, the next real row still lands.
                file.extend_from_slice(b"GBAYE2000003,\"Unclosed title,Someone,2020-01-01,pop,x\n");
                line += 1;
                findings.push((line, "", "a quoted field is never closed"));
            }
            i if i == 2 * third => {
                file.extend_from_slice(b"GBAYE2000004,Beyonc\xe9 (Latin-1),Someone,2020-01-01,pop,x\n");
                line += 1;
                findings.push((line, "title", "is not UTF-8 text"));
                file.extend(row_line(&duplicate));
                line += 1;
                findings.push((line, "isrc", "this later row replaces it"));
            }
            _ => {}
        }
    }
    file.extend_from_slice(b"GBAYE20000");
    line += 1;
    findings.push((line, "", "the record has 1 field(s) but the header has 6"));
    let expected = Expected {
        records: rows.len() as i64 + 7,
        accepted: rows.len() as i64 + 1,
        rejected: 6,
        warnings: 1,
        recordings: rows.len() as u64,
        findings,
    };
    (file, expected, duplicate)
}

/// The same rows as JSON Lines (keys in any case, durations as numbers).
fn jsonl(rows: &[Row]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        let value = serde_json::json!({
            "ISRC": row.isrc, "title": row.title, "Artist": row.artist,
            "released_at": row.released_at, "genre": row.genre,
        });
        out.extend(value.to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

/// Synthetic rows `QZOMN{YY}{NNNNN}`: `n` distinct ISRCs.
fn synthetic_csv(n: usize) -> Vec<u8> {
    let mut out = b"isrc,title,artist,duration,released_at,genre\n".to_vec();
    for i in 0..n {
        let line = format!(
            "QZOMN{:02}{:05},Synthetic {i},Artist {},{},2020-{:02}-01,genre {}\n",
            i / 100_000,
            i % 100_000,
            i % 997,
            120 + i % 300,
            1 + i % 12,
            i % 13
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

async fn post_file(app: &TestApp, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    let request = app.browser.client.post(app.url("/ingest/isrc/bulk")).header("content-type", content_type).body(body);
    app.browser.with_csrf_header(request).send().await.expect("POST /ingest/isrc/bulk")
}

pub(crate) async fn start_import(app: &TestApp, content_type: &str, body: Vec<u8>) -> Uuid {
    let response = post_file(app, content_type, body).await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let job: serde_json::Value = response.json().await.expect("job");
    let id = job["id"].as_str().expect("id").to_owned();
    assert_eq!(location.as_deref(), Some(format!("/ingest/isrc/bulk/{id}").as_str()));
    Uuid::parse_str(&id).expect("uuid")
}

pub(crate) async fn status(app: &TestApp, id: Uuid) -> serde_json::Value {
    let response = app.browser.client.get(app.url(&format!("/ingest/isrc/bulk/{id}"))).send().await.expect("status");
    assert_eq!(response.status(), 200);
    response.json().await.expect("status json")
}

/// Polls the status until the job completes or fails; checks the counts add up on every look.
async fn wait_for(app: &TestApp, id: Uuid) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let job = status(app, id).await;
        let n = |k: &str| job[k].as_i64().expect(k);
        assert_eq!(n("acceptedRecords") + n("rejectedRecords"), n("processedRecords"), "{job}");
        if let Some("completed" | "failed") = job["status"].as_str() {
            return job;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count_recordings(app: &TestApp) -> u64 {
    omnisonic_store::catalogue::count_recordings(&app.db).await.expect("count")
}

async fn error_report(app: &TestApp, id: Uuid) -> Vec<csv::StringRecord> {
    let url = app.url(&format!("/ingest/isrc/bulk/{id}/errors.csv"));
    let response = app.browser.client.get(url).send().await.expect("report");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    let body = response.bytes().await.expect("report body");
    let mut reader = csv::Reader::from_reader(&body[..]);
    assert_eq!(reader.headers().expect("header"), vec!["line", "column", "value", "reason", "severity"]);
    reader.records().map(|r| r.expect("report row")).collect()
}

crate::helpers::both_backends_with_workers! {
    [];
    async fn the_real_catalogue_with_injected_faults_imports_with_exact_counts(app: TestApp) {
        app.sign_in("importer@example.com").await;
        let rows = real_rows();
        let (file, expected, duplicate) = real_csv_with_faults(&rows);
        let id = start_import(&app, "text/csv", file.clone()).await;
        let job = wait_for(&app, id).await;
        assert_eq!(job["status"], "completed", "{job}");
        let n = |k: &str| job[k].as_i64().expect(k);
        assert_eq!(n("totalRecords"), expected.records, "the total is exact once completed");
        assert_eq!(n("processedRecords"), expected.records);
        assert_eq!(n("acceptedRecords"), expected.accepted);
        assert_eq!(n("rejectedRecords"), expected.rejected);
        assert_eq!(n("warningRecords"), expected.warnings);
        assert_eq!(n("createdRecords"), expected.recordings as i64);
        assert_eq!(job["percent"], 100);
        assert_eq!(count_recordings(&app).await, expected.recordings, "good rows around the bad ones all landed");

        // The later duplicate won, whichever batch was written first.
        let stored = omnisonic_store::catalogue::recording_by_isrc(&app.db, &duplicate.isrc.to_ascii_uppercase())
            .await
            .expect("query")
            .expect("the duplicated recording");
        assert_eq!(stored.title, duplicate.title);
        // Lower-case and prefixed ISRCs of the real data are stored in their compact form; genres came along.
        let with_genre = rows.iter().find(|r| !r.genre.is_empty()).expect("a row with a genre");
        let stored = omnisonic_store::catalogue::recording_by_isrc(&app.db, &with_genre.isrc.to_ascii_uppercase())
            .await
            .expect("query")
            .expect("stored");
        assert_eq!(stored.genre.as_deref(), Some(with_genre.genre.as_str()));

        // The status lists the first findings; the report lists them all, in line order.
        let first = job["errors"].as_array().expect("errors");
        assert_eq!(first.len(), expected.findings.len());
        let report = error_report(&app, id).await;
        assert_eq!(report.len(), expected.findings.len(), "{report:?}");
        for (record, (line, column, reason)) in report.iter().zip(&expected.findings) {
            assert_eq!(record[0].parse::<i64>().expect("line"), *line, "{record:?}");
            assert_eq!(&record[1], *column, "{record:?}");
            assert!(record[3].contains(reason), "{record:?} should say {reason:?}");
            let severity = if reason.contains("replaces") { "warning" } else { "error" };
            assert_eq!(&record[4], severity);
        }

        // Compressed (as browsers ask for it), the streamed report still ends cleanly.
        let gzip = app
            .browser
            .client
            .get(app.url(&format!("/ingest/isrc/bulk/{id}/errors.csv")))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("report");
        assert_eq!(gzip.headers()["content-encoding"], "gzip");
        let compressed = gzip.bytes().await.expect("the whole compressed report");
        assert!(compressed.len() > 20);

        // Importing the same file again changes nothing: no row created or updated.
        let before = omnisonic_store::catalogue::recording_by_isrc(&app.db, &rows[0].isrc.to_ascii_uppercase())
            .await
            .expect("query")
            .expect("stored");
        let again = wait_for(&app, start_import(&app, "text/csv", file).await).await;
        // Only the duplicated ISRC is written: its first row (an update back to the original title), then its
        // later row (back to the remaster), so the catalogue ends as it was.
        assert_eq!((again["createdRecords"].as_i64(), again["updatedRecords"].as_i64()), (Some(0), Some(2)), "{again}");
        let stored = omnisonic_store::catalogue::recording_by_isrc(&app.db, &duplicate.isrc.to_ascii_uppercase())
            .await
            .expect("query")
            .expect("stored");
        assert_eq!(stored.title, duplicate.title);
        assert_eq!(again["acceptedRecords"].as_i64(), Some(expected.accepted));
        assert_eq!(count_recordings(&app).await, expected.recordings);
        let after = omnisonic_store::catalogue::recording_by_isrc(&app.db, &rows[0].isrc.to_ascii_uppercase())
            .await
            .expect("query")
            .expect("stored");
        assert_eq!(after.updated_at, before.updated_at, "an unchanged row is not even touched");

        // The same catalogue as JSON Lines (posted with its media type) is already there, to the row.
        let jsonl_job = wait_for(&app, start_import(&app, "application/x-ndjson", jsonl(&rows)).await).await;
        assert_eq!(jsonl_job["acceptedRecords"].as_i64(), Some(rows.len() as i64), "{jsonl_job}");
        assert_eq!(jsonl_job["createdRecords"].as_i64(), Some(0));
        assert_eq!(jsonl_job["updatedRecords"].as_i64(), Some(1), "the duplicate's first row is back");
    }

    async fn more_than_50000_rows_report_accurate_status_while_running(app: TestApp) {
        app.sign_in("big@example.com").await;
        let n = 60_000usize;
        let id = start_import(&app, "text/csv", synthetic_csv(n)).await;
        let mut seen_running = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(180);
        let job = loop {
            let job = status(&app, id).await;
            let get = |k: &str| job[k].as_i64().expect(k);
            assert_eq!(get("acceptedRecords") + get("rejectedRecords"), get("processedRecords"));
            assert_eq!(get("totalRecords"), n as i64, "counted from the upload's lines");
            if job["status"] == "completed" {
                break job;
            }
            if job["status"] == "processing" {
                seen_running.push((get("processedRecords"), job["percent"].as_i64().expect("percent")));
            }
            assert!(Instant::now() < deadline, "{job}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(job["processedRecords"].as_i64(), Some(n as i64));
        assert_eq!(job["acceptedRecords"].as_i64(), Some(n as i64));
        assert_eq!(count_recordings(&app).await, n as u64);
        // Counts only grow, each one a whole number of batches (BULK_IMPORT_BATCH_SIZE, 100), and were seen between
        // the start and the end.
        assert!(seen_running.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1), "{seen_running:?}");
        assert!(seen_running.iter().all(|(p, _)| p % 100 == 0), "{seen_running:?}");
        assert!(
            seen_running.iter().any(|(p, _)| *p > 0 && *p < n as i64),
            "progress was visible while running: {seen_running:?}"
        );
        let (batches, _) = omnisonic_store::bulk_imports::committed(&app.db, id).await.expect("receipts");
        assert_eq!(batches.len(), n / 100, "one receipt per batch of 100");
    }

    async fn text_postgresql_cannot_store_is_a_rejected_row_not_a_failed_import(app: TestApp) {
        app.sign_in("odd@example.com").await;
        let mut file = b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n".to_vec();
        file.extend_from_slice(b"GBAYE2000010,Nul\0byte,Someone\n");
        file.extend(format!("GBAYE2000011,{},Someone\n", "\u{130}".repeat(300)).into_bytes());
        file.extend_from_slice(b"USCM51400222,0 To 100,Drake\n");
        let job = wait_for(&app, start_import(&app, "text/csv", file).await).await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!((job["acceptedRecords"].as_i64(), job["rejectedRecords"].as_i64()), (Some(2), Some(2)), "{job}");
        let reasons: Vec<&str> =
            job["errors"].as_array().expect("errors").iter().map(|e| e["reason"].as_str().expect("reason")).collect();
        assert_eq!(reasons, ["must not contain a NUL character", "must be at most 500 characters"]);
        // A JSON Lines file saved with a byte order mark is fine too.
        let bom = b"\xEF\xBB\xBF{\"isrc\":\"GBAYE2000012\",\"title\":\"t\",\"artist\":\"a\"}\n".to_vec();
        let job = wait_for(&app, start_import(&app, "application/x-ndjson", bom).await).await;
        assert_eq!(job["acceptedRecords"].as_i64(), Some(1), "{job}");
    }

    async fn progress_streams_as_server_sent_events(app: TestApp) {
        app.sign_in("watcher@example.com").await;
        let id = start_import(&app, "text/csv", synthetic_csv(20_000)).await;
        let response = app
            .browser
            .client
            .get(app.url(&format!("/ingest/isrc/bulk/{id}/events")))
            .send()
            .await
            .expect("events");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/event-stream"));
        let body = tokio::time::timeout(Duration::from_secs(120), response.text()).await.expect("the stream ends").expect("body");
        let events: Vec<serde_json::Value> = body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).expect("event json"))
            .collect();
        let last = events.last().expect("events");
        assert_eq!(last["status"], "completed", "the stream ends with the completion: {events:?}");
        assert_eq!(last["acceptedRecords"].as_i64(), Some(20_000));
        let processed: Vec<i64> = events.iter().map(|e| e["processedRecords"].as_i64().expect("n")).collect();
        assert!(processed.windows(2).all(|w| w[0] <= w[1]), "{processed:?}");
    }
}

crate::helpers::both_backends! {
    async fn files_that_cannot_be_imported_are_refused_at_once(app: TestApp) {
        app.sign_in("strict@example.com").await;
        let missing = post_file(&app, "text/csv", b"ISRC,Name,Album\nUSRC11301176,2 On,Aquarius\n".to_vec()).await;
        let problem = expect_problem(missing, 422, "unprocessable").await;
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("title, artist") && detail.contains("ISRC, Name, Album"), "{detail}");
        expect_problem(post_file(&app, "text/csv", Vec::new()).await, 422, "unprocessable").await;
        expect_problem(post_file(&app, "text/csv", b"\n\n".to_vec()).await, 422, "unprocessable").await;
        let not_json = post_file(&app, "application/x-ndjson", b"isrc,title,artist\n".to_vec()).await;
        expect_problem(not_json, 422, "unprocessable").await;
        expect_problem(post_file(&app, "application/pdf", b"%PDF".to_vec()).await, 415, "unsupported_media_type").await;
        let bad_format = app
            .browser
            .with_csrf_header(app.browser.client.post(app.url("/ingest/isrc/bulk?format=xlsx")))
            .body("isrc,title,artist\n")
            .send()
            .await
            .expect("post");
        expect_problem(bad_format, 422, "validation_failed").await;
        // Named by extension, the content type does not matter.
        let by_name = app
            .browser
            .with_csrf_header(app.browser.client.post(app.url("/ingest/isrc/bulk?name=cat.csv")))
            .header("content-type", "application/octet-stream")
            .body("isrc,title,artist\nUSRC11301176,2 On,Tinashe\n")
            .send()
            .await
            .expect("post");
        assert_eq!(by_name.status(), 202);
        // Nothing was stored for the refused ones.
        use sea_orm::{EntityTrait, PaginatorTrait};
        let jobs = omnisonic_store::entities::bulk_import_job::Entity::find().count(&app.db).await.expect("count");
        assert_eq!(jobs, 1);
    }

    async fn only_the_uploader_sees_a_job_and_anonymous_uploads_are_refused(app: TestApp) {
        let anonymous = post_file(&app, "text/csv", b"isrc,title,artist\n".to_vec()).await;
        expect_problem(anonymous, 401, "unauthenticated").await;
        app.sign_in("owner@example.com").await;
        let id = start_import(&app, "text/csv", b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n".to_vec()).await;
        let other = app.new_browser();
        app.create_user("other@example.com", crate::helpers::TEST_PASSWORD).await;
        assert_eq!(other.sign_in_with_password("other@example.com", crate::helpers::TEST_PASSWORD).await.status(), 303);
        for path in ["", "/errors.csv", "/events"] {
            let response = other.client.get(other.url(&format!("/ingest/isrc/bulk/{id}{path}"))).send().await.expect("get");
            expect_problem(response, 403, "forbidden").await;
            let response = app.client.get(app.url(&format!("/ingest/isrc/bulk/{id}{path}"))).send().await.expect("get");
            expect_problem(response, 401, "unauthenticated").await;
        }
        let missing = app.browser.client.get(app.url(&format!("/ingest/isrc/bulk/{}", Uuid::now_v7()))).send().await;
        expect_problem(missing.expect("get"), 404, "not_found").await;
    }

    async fn api_tokens_sign_machine_clients_in_without_csrf_and_can_be_revoked(app: TestApp) {
        let user = app.sign_in("machine@example.com").await;
        let token = omnisonic_app::accounts::tokens::generate();
        let row = omnisonic_store::api_tokens::create(&app.db, user, "nightly", &token.hash, &token.prefix)
            .await
            .expect("token");
        // A client with no cookie and no CSRF token, only the bearer token.
        let machine = reqwest::Client::new();
        let bearer = format!("Bearer {}", token.secret);
        let response = machine
            .post(app.url("/ingest/isrc/bulk"))
            .header("authorization", &bearer)
            .header("content-type", "text/csv")
            .body("isrc,title,artist\nUSRC11301176,2 On,Tinashe\n")
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 202);
        let job: serde_json::Value = response.json().await.expect("job");
        let status = machine.get(app.url(job["statusUrl"].as_str().expect("url"))).header("authorization", &bearer);
        assert_eq!(status.send().await.expect("status").status(), 200);
        // GraphQL too.
        let graphql = machine
            .post(app.url("/graphql"))
            .header("authorization", &bearer)
            .json(&serde_json::json!({ "query": "{ viewer { id } }" }))
            .send()
            .await
            .expect("graphql");
        let body: serde_json::Value = graphql.json().await.expect("json");
        assert_eq!(body["data"]["viewer"]["id"], user.to_string(), "{body}");
        // A wrong token is refused even beside a valid session cookie: the header decides, never the cookie.
        let forged = app
            .browser
            .client
            .post(app.url("/ingest/isrc/bulk"))
            .header("authorization", "Bearer oms_not-a-token")
            .header("content-type", "text/csv")
            .body("isrc,title,artist\n")
            .send()
            .await
            .expect("post");
        expect_problem(forged, 401, "unauthenticated").await;
        // Only the hash is stored.
        let stored = omnisonic_store::api_tokens::list(&app.db, user).await.expect("list");
        assert_eq!(stored[0].token_hash, omnisonic_app::accounts::tokens::hash(&token.secret));
        assert!(!stored[0].token_hash.contains(&token.secret[4..]));
        assert!(stored[0].last_used_at.is_some(), "use is recorded");
        // A token cannot manage tokens: a leaked one must not mint its successor.
        let minted = machine
            .post(app.url("/settings/tokens"))
            .header("authorization", &bearer)
            .form(&[("name", "successor")])
            .send()
            .await
            .expect("post");
        assert_eq!(minted.status(), 403);
        assert_eq!(omnisonic_store::api_tokens::list(&app.db, user).await.expect("list").len(), 1);
        // Other `Authorization` headers (a proxy's Basic credentials) are not ours: the cookie signs in, and the
        // CSRF check still applies.
        let basic = app.browser.client.get(app.url("/imports")).header("authorization", "Basic dXNlcjpwYXNz");
        assert_eq!(basic.send().await.expect("get").status(), 200);
        let no_csrf = app
            .browser
            .client
            .post(app.url("/ingest/isrc/bulk"))
            .header("authorization", "Basic dXNlcjpwYXNz")
            .header("content-type", "text/csv")
            .body("isrc,title,artist\n")
            .send()
            .await
            .expect("post");
        expect_problem(no_csrf, 403, "csrf_failed").await;
        // Revoked: refused from then on.
        assert!(omnisonic_store::api_tokens::revoke(&app.db, row.id, Some(user)).await.expect("revoke"));
        let response = machine.get(app.url("/ingest/isrc/bulk/x")).header("authorization", &bearer).send().await;
        expect_problem(response.expect("get"), 401, "unauthenticated").await;
    }
}

/// The file size limit at its edge (BULK_IMPORT_MAX_FILE_SIZE_MB=1): exactly 1 MiB is accepted, one byte more is
/// refused with 413 (declared, or found while streaming) and nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_limit_holds_at_its_edge() {
    let app = spawn_app_with(Backend::Sqlite, settings(&["--bulk-import-max-file-size-mb", "1"])).await.expect("app");
    app.sign_in("edge@example.com").await;
    let limit = 1024 * 1024;
    let mut exact = synthetic_csv(12_000);
    exact.truncate(limit);
    while exact.len() < limit {
        exact.push(b'\n');
    }
    let mut over = exact.clone();
    over.push(b'\n');
    assert_eq!(post_file(&app, "text/csv", exact).await.status(), 202);
    expect_problem(post_file(&app, "text/csv", over.clone()).await, 413, "payload_too_large").await;
    // Streamed without a length: refused as the limit is crossed.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = over.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let request = app
        .browser
        .client
        .post(app.url("/ingest/isrc/bulk"))
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)));
    // The server answers as soon as the limit is crossed; the client may still be sending and see the connection
    // close instead. Either way nothing is kept (checked below).
    if let Ok(response) = app.browser.with_csrf_header(request).send().await {
        expect_problem(response, 413, "payload_too_large").await;
    }
    use sea_orm::{EntityTrait, PaginatorTrait};
    let jobs = omnisonic_store::entities::bulk_import_job::Entity::find().count(&app.db).await.expect("count");
    assert_eq!(jobs, 1, "only the file within the limit became a job");
}

/// BULK_IMPORT_RATE_LIMIT_PER_HOUR at its edge: the limit's worth of imports pass, the next is 429 with
/// Retry-After, and other users are not affected. With Redis, two web nodes share one count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_per_user_and_across_nodes() {
    let body = || b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n".to_vec();
    let app =
        spawn_app_with(Backend::Sqlite, settings(&["--bulk-import-rate-limit-per-hour", "3"])).await.expect("app");
    app.sign_in("busy@example.com").await;
    for _ in 0..3 {
        assert_eq!(post_file(&app, "text/csv", body()).await.status(), 202);
    }
    let limited = post_file(&app, "text/csv", body()).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((3590..=3600).contains(&retry_after), "{retry_after}");
    expect_problem(limited, 429, "rate_limited").await;
    let other = app.new_browser();
    app.create_user("calm@example.com", crate::helpers::TEST_PASSWORD).await;
    other.sign_in_with_password("calm@example.com", crate::helpers::TEST_PASSWORD).await;
    let request = other.client.post(other.url("/ingest/isrc/bulk")).header("content-type", "text/csv").body(body());
    assert_eq!(other.with_csrf_header(request).send().await.expect("post").status(), 202);

    // Two nodes on one PostgreSQL database and one Redis: the count is shared.
    let Some(redis) = crate::queue::redis_url() else { return };
    let prefix = format!("test:{}:", Uuid::now_v7().simple());
    let flags = ["--bulk-import-rate-limit-per-hour", "2", "--redis-url", &redis, "--redis-key-prefix", &prefix];
    let Some(first) = spawn_app_with(Backend::Postgres, settings(&flags)).await else { return };
    let second = omnisonic::startup::Application::with_database(first.db.clone(), &settings(&flags), false)
        .await
        .expect("second node");
    let second_address = second.local_addr();
    tokio::spawn(second.run_until_stopped(std::future::pending()));
    let user = first.sign_in("shared@example.com").await;
    let token = omnisonic_app::accounts::tokens::generate();
    omnisonic_store::api_tokens::create(&first.db, user, "both", &token.hash, &token.prefix).await.expect("token");
    let machine = reqwest::Client::new();
    let send = |address: std::net::SocketAddr| {
        machine
            .post(format!("http://{address}/ingest/isrc/bulk"))
            .header("authorization", format!("Bearer {}", token.secret))
            .header("content-type", "text/csv")
            .body(body())
            .send()
    };
    assert_eq!(send(first.address).await.expect("post").status(), 202);
    assert_eq!(send(second_address).await.expect("post").status(), 202);
    let third = send(first.address).await.expect("post");
    assert_eq!(third.status(), 429, "the second node's import counted on the first");
}

/// A 200,000-row import whose worker process is killed (SIGKILL) in the middle; a new worker resumes it from the
/// batch receipts: every row lands once, the counts are exact, no finding is recorded twice.
async fn killed_worker_resumes(backend: Backend, redis: Option<String>) {
    let data = tempfile::tempdir().expect("data dir");
    let mut flags: Vec<String> = vec!["--bulk-import-concurrency".into(), "4".into()];
    if let Some(redis) = redis {
        flags.extend([
            "--redis-url".into(),
            redis,
            "--redis-key-prefix".into(),
            format!("test:{}:", Uuid::now_v7().simple()),
        ]);
    }
    let mut app_flags = vec!["--data-dir".to_owned(), data.path().to_str().expect("utf-8").to_owned()];
    app_flags.extend(flags.iter().cloned());
    let args: Vec<&str> = app_flags.iter().map(String::as_str).collect();
    let Some(app) = spawn_app_with(backend, settings(&args)).await else { return };
    app.sign_in("crash@example.com").await;
    let n = 200_000usize;
    let mut file = synthetic_csv(n);
    // Faults whose counts must survive the crash: a bad row, and a later duplicate, near the end.
    file.extend_from_slice(b"QZOMN0100000,,nobody,,,\nQZOMN0000005,Synthetic 5 again,Artist 5,,,\n");
    let id = start_import(&app, "text/csv", file).await;

    let mut worker = crate::helpers::start_worker(&app.database_url, &flags, data.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = omnisonic_store::bulk_imports::get_job(&app.db, id).await.expect("job").expect("row");
        if job.processed_records >= 20_000 {
            break;
        }
        assert!(job.status != "completed", "finished before it could be killed");
        assert!(Instant::now() < deadline, "no progress from the worker");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.kill().expect("kill the worker");
    worker.wait().expect("reap");
    // A statement the dead worker had sent may still commit on the server; let it settle before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (written, totals) = omnisonic_store::bulk_imports::committed(&app.db, id).await.expect("receipts");
    let job = omnisonic_store::bulk_imports::get_job(&app.db, id).await.expect("job").expect("row");
    assert_eq!(job.status, "processing", "killed in the middle");
    assert!(totals.processed > 0 && (totals.processed as usize) < n, "killed in the middle: {totals:?}");
    assert_eq!(count_recordings(&app).await as i64, totals.accepted, "rows and receipts were written together");
    assert!(written.len() < n / 100);

    let mut worker = crate::helpers::start_worker(&app.database_url, &flags, data.path());
    let job = wait_for(&app, id).await;
    worker.kill().expect("kill");
    worker.wait().expect("reap");
    assert_eq!(job["status"], "completed", "{job}");
    let get = |k: &str| job[k].as_i64().expect(k);
    assert_eq!(get("processedRecords"), n as i64 + 2);
    assert_eq!(get("acceptedRecords"), n as i64 + 1);
    assert_eq!(get("rejectedRecords"), 1);
    assert_eq!(get("warningRecords"), 1);
    assert_eq!(get("createdRecords"), n as i64, "every recording created exactly once");
    assert_eq!(count_recordings(&app).await, n as u64, "no row lost, none twice");
    let report = error_report(&app, id).await;
    assert_eq!(report.len(), 2, "each finding recorded once: {report:?}");
    let stored = omnisonic_store::catalogue::recording_by_isrc(&app.db, "QZOMN0000005").await.expect("q").expect("row");
    assert_eq!(stored.title, "Synthetic 5 again", "the later duplicate won across the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_import_resumes_exactly_on_postgres_and_redis() {
    let Some(redis) = crate::queue::redis_url() else { return };
    killed_worker_resumes(Backend::Postgres, Some(redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_import_resumes_exactly_on_sqlite() {
    killed_worker_resumes(Backend::Sqlite, None).await;
}

/// A multipart form as a browser without JavaScript sends it: the CSRF field first, then the file.
fn multipart_form(csrf: Option<&str>, file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----omnisonicTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .bytes(),
    );
    body.extend_from_slice(content);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

crate::helpers::both_backends! {
    async fn the_upload_form_works_without_javascript(app: TestApp) {
        app.sign_in("form@example.com").await;
        let csrf = app.browser.csrf_token().expect("csrf");
        let send = |content_type: String, body: Vec<u8>| {
            app.browser
                .client
                .post(app.url("/ingest/isrc/bulk"))
                .header("accept", "text/html")
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        // No token in the form: refused like any other form.
        let (ct, body) = multipart_form(None, "cat.csv", b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n");
        assert_eq!(send(ct, body).await.expect("post").status(), 403);
        let (ct, body) = multipart_form(Some("wrong"), "cat.csv", b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n");
        assert_eq!(send(ct, body).await.expect("post").status(), 403);
        // With it: a 303 to the job's page.
        let (ct, body) = multipart_form(Some(&csrf), "cat.csv", b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\n");
        let response = send(ct, body).await.expect("post");
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().expect("location").to_owned();
        assert!(location.starts_with("/imports/"), "{location}");
        let page = app.browser.get(&location).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        assert!(html.contains("Import of cat.csv") && html.contains("<progress"), "{html}");
        // A file the import cannot use: back to the form, with the reason.
        let (ct, body) = multipart_form(Some(&csrf), "bad.csv", b"isrc,name\nUSRC11301176,x\n");
        let response = send(ct, body).await.expect("post");
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().expect("location").to_owned();
        assert!(location.starts_with("/imports?error="), "{location}");
        let html = app.browser.get(&location).await.text().await.expect("html");
        assert!(html.contains("lacks the required column(s) title, artist"), "{html}");
        let list = app.browser.get("/imports").await.text().await.expect("html");
        assert!(list.contains("cat.csv") && !list.contains("bad.csv"), "{list}");
    }

    async fn tokens_are_made_shown_once_and_revoked_on_the_settings_page(app: TestApp) {
        let user = app.sign_in("settings@example.com").await;
        let empty = app.post_form("/settings/tokens", &[("name", "  ")]).await;
        assert_eq!(empty.status(), 422);
        let page = app.post_form("/settings/tokens", &[("name", "laptop script")]).await;
        assert_eq!(page.status(), 200);
        assert!(page.headers()["cache-control"].to_str().expect("header").contains("no-store"));
        let html = page.text().await.expect("html");
        let start = html.find("id=\"new-token\">").expect("the new token is shown") + "id=\"new-token\">".len();
        let secret = html[start..].split('<').next().expect("token").to_owned();
        assert!(secret.starts_with("oms_"), "{secret}");
        // Shown once: the list shows only its start.
        let again = app.browser.get("/settings/tokens").await.text().await.expect("html");
        assert!(again.contains("laptop script") && !again.contains(&secret), "{again}");
        let machine = reqwest::Client::new();
        let whoami = |token: String| {
            machine
                .post(app.url("/graphql"))
                .header("authorization", format!("Bearer {token}"))
                .json(&serde_json::json!({ "query": "{ viewer { email } }" }))
                .send()
        };
        let body: serde_json::Value = whoami(secret.clone()).await.expect("graphql").json().await.expect("json");
        assert_eq!(body["data"]["viewer"]["email"], "settings@example.com");
        // Another user cannot revoke it.
        let tokens = omnisonic_store::api_tokens::list(&app.db, user).await.expect("list");
        let other = app.new_browser();
        app.create_user("thief@example.com", crate::helpers::TEST_PASSWORD).await;
        other.sign_in_with_password("thief@example.com", crate::helpers::TEST_PASSWORD).await;
        let path = format!("/settings/tokens/{}/revoke", tokens[0].id);
        assert_eq!(other.post_form(&path, &[]).await.status(), 303);
        assert_eq!(whoami(secret.clone()).await.expect("graphql").status(), 200);
        assert!(omnisonic_store::api_tokens::list(&app.db, user).await.expect("list")[0].revoked_at.is_none());
        // Its owner can.
        assert_eq!(app.post_form(&path, &[]).await.status(), 303);
        let refused = whoami(secret).await.expect("graphql");
        expect_problem(refused, 401, "unauthenticated").await;
        let after = app.browser.get("/settings/tokens").await.text().await.expect("html");
        assert!(after.contains("revoked"), "{after}");
    }

    async fn the_job_page_is_its_owner_s(app: TestApp) {
        app.sign_in("pages@example.com").await;
        let id = start_import(&app, "text/csv", b"isrc,title,artist\nUSRC11301176,2 On,Tinashe\nXX,bad,row\n".to_vec()).await;
        let page = app.browser.get(&format!("/imports/{id}")).await;
        assert_eq!(page.status(), 200);
        let anonymous = app.new_browser().get(&format!("/imports/{id}")).await;
        assert_eq!(anonymous.status(), 303);
        let other = app.new_browser();
        app.create_user("nosy@example.com", crate::helpers::TEST_PASSWORD).await;
        other.sign_in_with_password("nosy@example.com", crate::helpers::TEST_PASSWORD).await;
        assert_eq!(other.get(&format!("/imports/{id}")).await.status(), 403);
        assert_eq!(other.get(&format!("/imports/{}", Uuid::now_v7())).await.status(), 404);
        let list = other.get("/imports").await.text().await.expect("html");
        assert!(list.contains("No imports yet"), "{list}");
    }
}

/// Transient database errors are retried: the import's PostgreSQL connections are killed
/// (`pg_terminate_backend`) again and again while it runs, and it still completes with exact counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_are_retried_without_losing_a_row() {
    let Some(app) = spawn_app_with_workers(Backend::Postgres, settings(&[])).await else { return };
    app.sign_in("flaky@example.com").await;
    let n = 100_000usize;
    let id = start_import(&app, "text/csv", synthetic_csv(n)).await;
    let database = app.database_url.rsplit('/').next().expect("database name").to_owned();
    let admin = omnisonic_store::connect(&std::env::var("OMNISONIC_TEST_DATABASE_URL").expect("url"), 1)
        .await
        .expect("admin connection");
    let mut killed = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = omnisonic_store::bulk_imports::get_job(&app.db, id).await.expect("job").expect("row");
        if job.status == "completed" || job.status == "failed" {
            break;
        }
        use sea_orm::ConnectionTrait;
        let row = admin
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                     WHERE datname = '{database}' AND query LIKE 'WITH input AS%' AND pid <> pg_backend_pid()"
                ),
            ))
            .await
            .expect("terminate");
        killed += row.map(|r| r.try_get::<i64>("", "n").expect("n")).unwrap_or(0) as u64;
        assert!(Instant::now() < deadline, "the import did not finish");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(killed > 0, "no connection was killed while the import ran");
    let job = wait_for(&app, id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["processedRecords"].as_i64(), Some(n as i64));
    assert_eq!(job["acceptedRecords"].as_i64(), Some(n as i64));
    assert_eq!(job["createdRecords"].as_i64(), Some(n as i64));
    assert_eq!(count_recordings(&app).await, n as u64, "after {killed} killed connections");
}
