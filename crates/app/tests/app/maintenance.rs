//! Upkeep tasks as the scheduler's jobs run them, on the context's clock; and queueing an import.

use crate::harness::{Down, context, databases, user};
use omnisonic_app::maintenance::{Task, run_task};
use omnisonic_app::{AppError, Clock};
use omnisonic_domain::catalogue::WorkInput;
use omnisonic_domain::license::{LicenseInput, RightsType};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_expiry_runs_on_the_context_clock_and_tells_the_work_s_subscribers() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let work = WorkInput { title: "Expiring".into(), ..Default::default() }.validate().expect("valid");
        let work = omnisonic_store::catalogue::create_work(&test.db, &work).await.expect("work");
        let input = LicenseInput {
            work_id: work.id,
            licensee: "Label".into(),
            territory: Some("DE".into()),
            rights_type: Some(RightsType::Mechanical),
            effective_from: "2020-01-01".into(),
            expires_on: Some("2040-01-01".into()),
            terms: None,
        };
        let new = input.validate().expect("valid");
        let license = omnisonic_store::licenses::create_license(&test.db, &new, false, None).await.expect("create");
        let license = license.expect("created");
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).expect("time").to_utc();

        let before = omnisonic_app::Context {
            clock: Clock::fixed(at("2039-12-31T23:59:59Z")),
            ..context(&test.db, storage.path())
        };
        run_task(&before, Task::LicenseExpiry).await.expect("runs");
        let row = omnisonic_store::licenses::licenses_by_ids(&test.db, &[license.id]).await.expect("row").remove(0);
        assert_eq!(row.status, "active", "{}: not over yet by the context's clock", test.name);

        let after = omnisonic_app::Context {
            clock: Clock::fixed(at("2040-01-01T00:00:00Z")),
            ..context(&test.db, storage.path())
        };
        let channel = omnisonic_domain::channels::license_work(work.id);
        let mut subscriber = after.pubsub.subscribe_confirmed(&channel).await.expect("subscribe");
        run_task(&after, Task::LicenseExpiry).await.expect("runs");
        let row = omnisonic_store::licenses::licenses_by_ids(&test.db, &[license.id]).await.expect("row").remove(0);
        assert_eq!(row.status, "expired", "{}", test.name);
        let message = loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(5), subscriber.recv())
                .await
                .expect("in time")
                .expect("open");
            if &*message != omnisonic_platform::pubsub::PROBE {
                break message;
            }
        };
        let event: serde_json::Value = serde_json::from_str(&message).expect("json");
        assert_eq!(event["id"], license.id.to_string(), "{}: the expired row", test.name);
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_job_cannot_be_queued_is_failed_with_the_reason() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let owner = user(&test.db, "importer@example.test").await;
        let new = omnisonic_store::bulk_imports::NewJob {
            id: uuid::Uuid::now_v7(),
            user_id: Some(owner),
            format: omnisonic_domain::bulk_import::Format::Csv,
            file_name: "catalogue.csv".into(),
            file_key: format!("imports/{owner}/catalogue"),
            file_size: 10,
            batch_size: 100,
            total_records: 1,
        };
        let up = context(&test.db, storage.path());
        let job = omnisonic_app::bulk_import::queue_import(&up, &new).await.expect("queued");
        assert_eq!(job.status, "pending", "{}", test.name);
        assert_eq!(omnisonic_store::jobs::counts(&test.db, "bulk_imports").await.expect("counts"), (1, 0));

        let down = omnisonic_app::Context { queue: Arc::new(Down), ..context(&test.db, storage.path()) };
        let second = omnisonic_store::bulk_imports::NewJob { id: uuid::Uuid::now_v7(), ..new };
        match omnisonic_app::bulk_import::queue_import(&down, &second).await {
            Err(AppError::Unavailable { what, .. }) => assert_eq!(what, "the job queue"),
            other => panic!("{}: {other:?}", test.name),
        }
        let row = omnisonic_store::bulk_imports::get_job(&test.db, second.id).await.expect("read").expect("row");
        assert_eq!(row.status, "failed", "{}: never pending without a job", test.name);
        assert_eq!(row.failure.as_deref(), Some("the job could not be queued; upload the file again"));
        test.close().await;
    }
}
