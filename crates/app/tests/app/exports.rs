//! Asking for an export: who may, what is checked, what is written, queued and announced.

use crate::harness::{Down, context, databases, user};
use omnisonic_app::AppError;
use omnisonic_app::exports::request_export;
use omnisonic_domain::export::ExportFormat;
use omnisonic_domain::studio::{StudioSessionFields, TrackInput};
use omnisonic_store::DatabaseConnection;
use omnisonic_store::entities::studio_session;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A session of `owner` with one track playing a stored upload `seconds` long (`mute` as given).
async fn session_with_track(db: &DatabaseConnection, owner: Uuid, seconds: i64, mute: bool) -> studio_session::Model {
    let fields = StudioSessionFields { title: "Mix".into(), description: None, bpm: None, sample_rate: 48_000 };
    let session = omnisonic_store::studio::create_session(db, owner, &fields).await.expect("session");
    let upload_id = Uuid::now_v7();
    let new = omnisonic_store::uploads::NewUpload {
        id: upload_id,
        user_id: owner,
        file_name: "take.wav".into(),
        file_size: 44,
        mime_type: "audio/wav".into(),
        storage_key: format!("uploads/{owner}/{upload_id}"),
        sha256: "0".repeat(64),
    };
    omnisonic_store::uploads::create_upload(db, new).await.expect("upload");
    let input = TrackInput { name: "Take".into(), gain_db: 0.0, pan: 0.0, mute, solo: false, start_offset_samples: 0 };
    let source =
        omnisonic_store::studio::TrackSource { upload_id, stream_index: None, duration_ms: Some(seconds * 1000) };
    omnisonic_store::studio::add_track(db, session.id, &input, Some(source)).await.expect("track");
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_gets_a_queued_export_and_the_room_hears_of_it() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let owner = user(&test.db, "owner@example.test").await;
        let session = session_with_track(&test.db, owner, 5, false).await;
        let mut room =
            ctx.pubsub.subscribe_confirmed(&omnisonic_app::events::session_channel(session.id)).await.expect("sub");

        let row = request_export(&ctx, owner, &session, ExportFormat::Mp3 { kbps: 192 }).await.expect("queued");
        assert_eq!(
            (row.status.as_str(), row.format.as_str(), row.bitrate_kbps),
            ("pending", "mp3", Some(192)),
            "{}",
            test.name
        );
        let (live, dead) = omnisonic_store::jobs::counts(&test.db, "exports").await.expect("counts");
        assert_eq!((live, dead), (1, 0), "{}: one job", test.name);
        let message = loop {
            let message =
                tokio::time::timeout(Duration::from_secs(5), room.recv()).await.expect("in time").expect("open");
            if &*message != omnisonic_platform::pubsub::PROBE {
                break message;
            }
        };
        let event: serde_json::Value = serde_json::from_str(&message).expect("json");
        assert_eq!(event["type"], "export.progress", "{}", test.name);
        assert_eq!(event["data"]["exportId"], row.id.to_string());
        assert_eq!(event["data"]["status"], "pending");
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_else_may_and_nothing_is_written_when_refused() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = context(&test.db, storage.path());
        let owner = user(&test.db, "owner@example.test").await;
        let other = user(&test.db, "other@example.test").await;
        let session = session_with_track(&test.db, owner, 5, false).await;
        let refused = request_export(&ctx, other, &session, ExportFormat::DEFAULT).await;
        assert!(matches!(refused, Err(AppError::Forbidden(_))), "{}: {refused:?}", test.name);

        // Over the duration limit (60 s here), and with every track muted: refused with the field named.
        let long = session_with_track(&test.db, owner, 61, false).await;
        match request_export(&ctx, owner, &long, ExportFormat::DEFAULT).await {
            Err(AppError::Invalid(errors)) => {
                assert!(errors.reason_for("sessionId").is_some_and(|r| r.contains("limited to 60 seconds")), "{errors}")
            }
            other => panic!("{}: {other:?}", test.name),
        }
        let muted = session_with_track(&test.db, owner, 5, true).await;
        assert!(matches!(request_export(&ctx, owner, &muted, ExportFormat::DEFAULT).await, Err(AppError::Invalid(_))));
        for id in [session.id, long.id, muted.id] {
            assert!(
                omnisonic_store::exports::list_exports(&test.db, id).await.expect("list").is_empty(),
                "{}",
                test.name
            );
        }
        assert_eq!(omnisonic_store::jobs::counts(&test.db, "exports").await.expect("counts"), (0, 0));
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_is_down_leaves_a_failed_row_that_says_why() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let ctx = omnisonic_app::Context { queue: Arc::new(Down), ..context(&test.db, storage.path()) };
        let owner = user(&test.db, "owner@example.test").await;
        let session = session_with_track(&test.db, owner, 5, false).await;
        match request_export(&ctx, owner, &session, ExportFormat::Flac).await {
            Err(AppError::Unavailable { what, source }) => {
                assert_eq!(what, "the job queue");
                assert!(source.to_string().contains("connection refused"), "{source}");
            }
            other => panic!("{}: {other:?}", test.name),
        }
        let rows = omnisonic_store::exports::list_exports(&test.db, session.id).await.expect("list");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, "failed", "{}: never left pending without a job", test.name);
        assert_eq!(rows[0].error_message.as_deref(), Some("the export could not be queued; try again"));
        test.close().await;
    }
}
