//! Insight: feeds polled from a loopback server with real-world feed files, deduplication within and across
//! feeds, tagging against the catalogue, re-tagging, and the SSRF guard on sources.

use crate::feed_server::{FeedServer, Route, rss, shared_feed};
use crate::harness::{context, databases};
use omnisonic_app::AppError;
use omnisonic_app::insight::feeds::{add_source, poll_source};
use omnisonic_app::insight::ingest::{IncomingItem, ingest};
use omnisonic_app::insight::retag::{self, RetagPayload, RetagScope};
use omnisonic_domain::catalogue::{PartyKind, RecordingInput};
use omnisonic_store::feeds::get_source;
use omnisonic_store::news::{self, NewsFilter};
use std::time::Duration;

async fn items(ctx: &omnisonic_app::Context) -> Vec<omnisonic_store::entities::news_item::Model> {
    news::list_items(&ctx.db, &NewsFilter::default(), None, 1_000).await.expect("items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_real_feeds_with_conditional_gets_and_charsets() {
    let server = FeedServer::start().await;
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let path = format!("/{}/cyrillic.xml", test.name);
        server.route(
            &path,
            Route::Feed {
                body: shared_feed("miniflux/encoding_WINDOWS-1251.xml"),
                content_type: "application/rss+xml",
                etag: Some("\"v1\"".to_owned()),
            },
        );
        let source = add_source(&ctx, &server.url(&path), None, None, None).await.expect("source");
        let first = poll_source(&ctx, &source).await.expect("poll");
        assert_eq!(first.status, Some(200), "{}", test.name);
        assert!(first.error.is_none(), "{}: {:?}", test.name, first.error);
        let stored = first.ingest.stored.len();
        assert!(stored > 5, "{}: {stored} items", test.name);
        let all = items(&ctx).await;
        assert!(all.iter().any(|i| i.title.starts_with("Цитата #")), "{}: Windows-1251 decoded", test.name);
        let source = get_source(&ctx.db, source.id).await.expect("source");
        assert_eq!(source.etag.as_deref(), Some("\"v1\""));
        assert_eq!(source.title.as_deref(), Some("iBash.Org.Ru"), "the feed's own title fills in");
        assert_eq!(source.items_count, stored as i64);

        // Second poll: the ETag goes back and 304 means nothing new.
        let second = poll_source(&ctx, &source).await.expect("poll");
        assert!(second.not_modified && second.ingest.stored.is_empty(), "{}", test.name);
        let hits = server.hits(&path);
        assert_eq!(hits.last().and_then(|h| h.headers.get("if-none-match")).map(String::as_str), Some("\"v1\""));
        assert_eq!(items(&ctx).await.len(), stored);

        // An undeclared ISO-8859-1 feed.
        let latin = format!("/{}/latin1.xml", test.name);
        server.route(
            &latin,
            Route::Feed {
                body: shared_feed("miniflux/no_encoding_ISO-8859-1.xml"),
                content_type: "text/xml",
                etag: None,
            },
        );
        let source = add_source(&ctx, &server.url(&latin), None, None, None).await.expect("source");
        let report = poll_source(&ctx, &source).await.expect("poll");
        assert!(report.error.is_none(), "{}: {:?}", test.name, report.error);
        let all = items(&ctx).await;
        assert!(all.iter().any(|i| i.title.contains("Perturbateurs endocriniens")), "{}", test.name);
        assert!(all.iter().all(|i| !i.title.contains('\u{fffd}')), "{}: no replacement characters", test.name);
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_and_never_give_up() {
    let server = FeedServer::start().await;
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let cases: Vec<(&str, Route, &str)> = vec![
            ("500", Route::Status(500, vec![]), "HTTP 500"),
            ("slow", Route::Slow(Duration::from_secs(5)), "timed out"),
            ("loop-a", Route::Redirect("/loop-b".to_owned()), "too many redirects"),
            (
                "malformed",
                Route::Feed {
                    body: b"<rss><channel><title>broken".to_vec(),
                    content_type: "application/rss+xml",
                    etag: None,
                },
                "not a feed",
            ),
            (
                "huge",
                Route::Feed { body: vec![b' '; 2 * 1024 * 1024], content_type: "application/rss+xml", etag: None },
                "larger than",
            ),
        ];
        server.route("/loop-b", Route::Redirect("/loop-a".to_owned()));
        for (name, route, expected) in cases {
            let path = if name.starts_with("loop") { "/loop-a".to_owned() } else { format!("/{}/{name}", test.name) };
            server.route(&path, route);
            let source = add_source(
                &ctx,
                &format!("{}?{}", server.url(&path), test.name),
                None,
                Some(Duration::from_secs(600)),
                None,
            )
            .await
            .expect("source");
            let before = ctx.clock.now();
            let first = poll_source(&ctx, &source).await.expect("poll");
            let error = first.error.clone().unwrap_or_default();
            assert!(error.contains(expected), "{}: {name}: {error}", test.name);
            let source = get_source(&ctx.db, source.id).await.expect("source");
            assert_eq!(source.consecutive_errors, 1, "{name}");
            assert_eq!(source.last_error.as_deref(), Some(error.as_str()));
            let delay = (source.next_poll_at - before).num_seconds();
            assert!((1_199..=1_210).contains(&delay), "{name}: first backoff doubles 600 s: {delay}");
            // Again: the delay doubles once more; the source stays enabled.
            let second = poll_source(&ctx, &source).await.expect("poll");
            assert!(second.error.is_some());
            let source = get_source(&ctx.db, source.id).await.expect("source");
            assert_eq!(source.consecutive_errors, 2);
            assert!(source.enabled);
            assert!((source.next_poll_at - before).num_seconds() >= 2_399, "{name}");
        }
        // Retry-After is honoured.
        let path = format!("/{}/busy", test.name);
        server.route(&path, Route::Status(429, vec![("retry-after", "7200".to_owned())]));
        let source =
            add_source(&ctx, &server.url(&path), None, Some(Duration::from_secs(600)), None).await.expect("source");
        let before = ctx.clock.now();
        poll_source(&ctx, &source).await.expect("poll");
        let source = get_source(&ctx.db, source.id).await.expect("source");
        assert!((source.next_poll_at - before).num_seconds() >= 7_199, "Retry-After wins over the backoff");
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_guids_and_the_same_article_in_two_feeds_store_one_item() {
    let server = FeedServer::start().await;
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let article = "https://news.example/2026/12/tour";
        let summary = "The band confirmed forty dates across Europe and North America on Thursday, opening in Lisbon in March and closing in Montréal in October.";
        let a = format!("/{}/a.xml", test.name);
        let b = format!("/{}/b.xml", test.name);
        server.route(
            &a,
            Route::Feed {
                body: rss(&[("guid-1", article, "Band announces tour", summary)]),
                content_type: "application/rss+xml",
                etag: None,
            },
        );
        server.route(
            &b,
            Route::Feed {
                body: rss(&[(
                    "other-feed-7",
                    &format!("{article}?utm_source=rss&amp;utm_medium=feed"),
                    "Band announces tour",
                    summary,
                )]),
                content_type: "application/rss+xml",
                etag: None,
            },
        );
        let source_a = add_source(&ctx, &server.url(&a), None, None, None).await.expect("a");
        let source_b = add_source(&ctx, &server.url(&b), None, None, None).await.expect("b");
        assert_eq!(poll_source(&ctx, &source_a).await.expect("poll").ingest.stored.len(), 1);
        let report = poll_source(&ctx, &source_b).await.expect("poll");
        assert_eq!((report.ingest.stored.len(), report.ingest.duplicates), (0, 1), "{}: same canonical URL", test.name);

        // The first feed republishes it under a new GUID and a new link: the title and summary still match.
        server.route(
            &a,
            Route::Feed {
                body: rss(&[("guid-1-v2", "https://news.example/?p=991", "Band Announces Tour!", summary)]),
                content_type: "application/rss+xml",
                etag: None,
            },
        );
        let report = poll_source(&ctx, &source_a).await.expect("poll");
        assert_eq!((report.ingest.stored.len(), report.ingest.duplicates), (0, 1), "{}: changed GUID", test.name);
        assert_eq!(items(&ctx).await.len(), 1, "{}", test.name);

        // Pushed items take the same path.
        let pushed = IncomingItem {
            title: "Band announces tour".into(),
            url: Some(article.into()),
            summary: summary.into(),
            ..Default::default()
        };
        let bad = IncomingItem { title: "  ".into(), ..Default::default() };
        let report = ingest(&ctx, None, &[pushed, bad]).await.expect("ingest");
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].index, 1);
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_tagged_on_arrival_and_retagged_after_catalogue_changes() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let radiohead =
            omnisonic_store::catalogue::create_party(&ctx.db, "Radiohead", PartyKind::Artist).await.expect("party");
        let input = RecordingInput {
            isrc: "GBAYE0000351".into(),
            title: "Everything in Its Right Place".into(),
            artist: "Radiohead".into(),
            ..Default::default()
        };
        let (recording, _) = omnisonic_store::catalogue::upsert_recording(&ctx.db, &input.validate().expect("valid"))
            .await
            .expect("recording");
        let item = IncomingItem {
            title: "Radiohead reissue Kid A with Everything in Its Right Place demos".into(),
            summary: "<p>The band also confirmed a tour with Aphex Twin in Zürich.</p>".into(),
            url: Some("https://news.example/radiohead".into()),
            ..Default::default()
        };
        let report = ingest(&ctx, None, &[item]).await.expect("ingest");
        assert_eq!(report.stored.len(), 1);
        let item_id = report.stored[0];
        let tags = news::tags_of(&ctx.db, &[item_id]).await.expect("tags");
        let found: Vec<(String, uuid::Uuid)> = tags.iter().map(|t| (t.entity_type.clone(), t.entity_id)).collect();
        assert!(found.contains(&("party".into(), radiohead.id)), "{}: {found:?}", test.name);
        assert!(found.contains(&("recording".into(), recording.id)), "{}: {found:?}", test.name);
        let stored = news::get_item(&ctx.db, item_id).await.expect("item");
        let text = omnisonic_app::insight::tagger::tagged_text(&stored.title, &stored.summary);
        for tag in &tags {
            assert_eq!(
                &text[tag.start_offset as usize..tag.end_offset as usize],
                tag.matched_text,
                "offsets point at the words"
            );
        }

        // A new artist, then a re-tag: the item gains the tag; running it again changes nothing.
        let aphex =
            omnisonic_store::catalogue::create_party(&ctx.db, "Aphex Twin", PartyKind::Artist).await.expect("party");
        let payload = RetagPayload { run_id: uuid::Uuid::now_v7(), scope: RetagScope::default() };
        let progress = retag::run(&ctx, &payload).await.expect("retag");
        assert_eq!((progress.state.as_str(), progress.done, progress.total), ("completed", 1, 1));
        let tags = news::tags_of(&ctx.db, &[item_id]).await.expect("tags");
        assert!(tags.iter().any(|t| t.entity_id == aphex.id), "{}", test.name);
        let again = retag::run(&ctx, &payload).await.expect("retag");
        let tags_again = news::tags_of(&ctx.db, &[item_id]).await.expect("tags");
        assert_eq!(again.tags, progress.tags);
        assert_eq!(
            tags.iter().map(|t| t.entity_id).collect::<Vec<_>>(),
            tags_again.iter().map(|t| t.entity_id).collect::<Vec<_>>()
        );

        // Lists filter by entity and confidence.
        let filter = NewsFilter { entity_id: Some(aphex.id), min_confidence: Some(70), ..Default::default() };
        assert_eq!(news::list_items(&ctx.db, &filter, None, 10).await.expect("list").len(), 1);
        let none = NewsFilter { entity_id: Some(uuid::Uuid::now_v7()), ..Default::default() };
        assert!(news::list_items(&ctx.db, &none, None, 10).await.expect("list").is_empty());
        test.close().await;
    }
}

#[tokio::test]
async fn sources_pointing_inside_are_refused_without_the_allow_list() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let mut ctx = context(&test.db, storage.path());
        ctx.insight.outbound = omnisonic_platform::OutboundClient::new(&Default::default()).expect("client");
        for url in [
            "http://127.0.0.1:8080/feed.xml",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.7/rss",
            "http://[::1]/feed",
            "http://localhost:9/feed",
            "file:///etc/passwd",
        ] {
            match add_source(&ctx, url, None, None, None).await {
                Err(AppError::Invalid(errors)) => {
                    let text = errors.to_string();
                    assert!(text.contains("url"), "{url}: {text}");
                }
                other => panic!("{url}: {:?}", other.map(|s| s.url)),
            }
        }
        assert!(omnisonic_store::feeds::list_sources(&ctx.db).await.expect("list").is_empty());
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_sources_are_polled_once_however_many_nodes_look() {
    let server = FeedServer::start().await;
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let nodes: Vec<_> = (0..4).map(|_| context(&test.db, storage.path())).collect();
        let mut paths = Vec::new();
        for n in 0..3 {
            let path = format!("/{}/due-{n}.xml", test.name);
            let link = format!("https://news.example/{}/{n}", test.name);
            server.route(
                &path,
                Route::Feed {
                    body: rss(&[(&format!("g{n}"), &link, &format!("Story {n}"), "")]),
                    content_type: "application/rss+xml",
                    etag: None,
                },
            );
            add_source(&nodes[0], &server.url(&path), None, None, None).await.expect("source");
            paths.push(path);
        }
        let racing: Vec<_> = nodes
            .iter()
            .cloned()
            .map(|ctx| tokio::spawn(async move { omnisonic_app::insight::feeds::poll_due(&ctx).await.expect("poll") }))
            .collect();
        let mut polled = 0;
        for node in racing {
            polled += node.await.expect("join").len();
        }
        assert_eq!(polled, 3, "{}: each due source polled by one node", test.name);
        for path in &paths {
            assert_eq!(server.hits(path).len(), 1, "{}: {path}", test.name);
        }
        assert_eq!(items(&nodes[0]).await.len(), 3);
        // Nothing is due any more: a second look polls nothing.
        assert!(omnisonic_app::insight::feeds::poll_due(&nodes[1]).await.expect("poll").is_empty());
        test.close().await;
    }
}
