//! The scheduler: each period's job is enqueued once however many nodes look, and a period whose job could not
//! be enqueued is tried again.

use crate::harness::{Down, context, databases};
use omnisonic_app::maintenance::Task;
use omnisonic_app::schedule::{Schedule, tick};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_enqueue_each_period_once() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let nodes: Vec<_> = (0..5).map(|_| context(&test.db, storage.path())).collect();
        let hourly = Schedule { task: Task::SessionSweep, every: Duration::from_secs(3600) };
        let now_ms = 1_800_000_000_000_i64;
        for (period, at) in [(0, now_ms), (1, now_ms + 3_600_000)] {
            // Each node on its own task, as separate processes would race.
            let racing: Vec<_> = nodes
                .iter()
                .cloned()
                .map(|ctx| tokio::spawn(async move { tick(&ctx, &hourly, at).await.expect("tick") }))
                .collect();
            let mut won = 0;
            for node in racing {
                won += usize::from(node.await.expect("join"));
            }
            assert_eq!(won, 1, "{}: period {period} enqueued by exactly one node", test.name);
        }
        // A later look within the same period, and a clock that went back, enqueue nothing.
        assert!(!tick(&nodes[0], &hourly, now_ms + 3_600_000 + 1).await.expect("tick"), "{}", test.name);
        assert!(!tick(&nodes[0], &hourly, now_ms).await.expect("tick"), "{}: an old period", test.name);
        let (live, _) = omnisonic_store::jobs::counts(&test.db, "maintenance").await.expect("counts");
        assert_eq!(live, 2, "{}: one job per period", test.name);
        let jobs = omnisonic_store::jobs::list(&test.db, "maintenance", 10).await.expect("list");
        let payload: serde_json::Value = serde_json::from_str(&jobs[0].payload).expect("json");
        assert_eq!(payload["task"], "session_sweep");
        test.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_whose_job_could_not_be_queued_is_tried_again() {
    for test in databases().await {
        let storage = tempfile::tempdir().expect("dir");
        let daily = Schedule { task: Task::LicenseExpiry, every: Duration::from_secs(24 * 3600) };
        let down = omnisonic_app::Context { queue: Arc::new(Down), ..context(&test.db, storage.path()) };
        let now_ms = 1_800_000_000_000_i64;
        assert!(tick(&down, &daily, now_ms).await.is_err(), "{}: the queue is down", test.name);
        let up = context(&test.db, storage.path());
        assert!(tick(&up, &daily, now_ms + 1).await.expect("tick"), "{}: the same period again", test.name);
        assert_eq!(omnisonic_store::jobs::counts(&test.db, "maintenance").await.expect("counts"), (1, 0));
        test.close().await;
    }
}
