//! The job queue's contract, the same on every backend: the database's `jobs` table (SQLite and PostgreSQL) and
//! Redis. Leases run out, stale owners are fenced off, retries wait, buried jobs stay buried; and the worker loop
//! retries with back-off, gives up after the last attempt and counts a stalled attempt as one.

use crate::helpers::{Backend, create_database};
use async_trait::async_trait;
use omnisonic_platform::queue::run_worker;
use omnisonic_platform::{AfterSettle, ClaimedJob, JobError, JobHandler, JobQueue, RetryPolicy, WorkerConfig};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A queue on one backend: its name, the queue, and whatever keeps its database alive.
type QueueUnderTest = (&'static str, Arc<dyn JobQueue>, Box<dyn std::any::Any + Send>);

/// A queue on each backend.
async fn queues() -> Vec<QueueUnderTest> {
    let mut out: Vec<QueueUnderTest> = Vec::new();
    for (name, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        if let Some((url, guard)) = create_database(backend).await {
            let db = omnisonic_store::connect(&url, 4).await.expect("connect");
            omnisonic_store::migrate(&db).await.expect("migrate");
            out.push((name, Arc::new(omnisonic_app::queue::DatabaseQueue::new(db)), Box::new(guard)));
        }
    }
    if let Some(url) = redis_url() {
        let prefix = format!("test:{}:", uuid::Uuid::now_v7().simple());
        let queue =
            omnisonic_platform::RedisQueue::connect(&url, &prefix).await.expect("Redis at OMNISONIC_TEST_REDIS_URL");
        out.push(("redis", Arc::new(queue), Box::new(())));
    }
    out
}

/// Redis for the tests, or `None` (a failure when services are required).
pub fn redis_url() -> Option<String> {
    match std::env::var("OMNISONIC_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("OMNISONIC_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "OMNISONIC_REQUIRE_SERVICES=1 but OMNISONIC_TEST_REDIS_URL is not set"
            );
            eprintln!("skipping the Redis variant: OMNISONIC_TEST_REDIS_URL is not set");
            None
        }
    }
}

/// Claims until a job comes or `within` passes.
async fn claim_within(queue: &dyn JobQueue, name: &str, lease: Duration, within: Duration) -> Option<ClaimedJob> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(job) = queue.claim(name, lease).await.expect("claim") {
            return Some(job);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_fence_stale_owners_and_expired_jobs_come_back() {
    for (backend, queue, _guard) in queues().await {
        let q = "leases";
        let id = queue.enqueue(q, r#"{"n":1}"#).await.expect("enqueue");
        let first = queue.claim(q, Duration::from_millis(300)).await.expect("claim").expect("a job");
        assert_eq!(
            (first.id.as_str(), first.attempt, first.payload.as_str()),
            (id.as_str(), 1, r#"{"n":1}"#),
            "{backend}"
        );
        assert!(
            queue.claim(q, Duration::from_secs(5)).await.expect("claim").is_none(),
            "{backend}: leased, not claimable"
        );
        assert!(queue.extend(&first, Duration::from_millis(300)).await.expect("extend"), "{backend}: owner extends");
        // The owner stops heart-beating (it died): the job comes back as attempt 2 under a new token.
        let second = claim_within(&*queue, q, Duration::from_secs(30), Duration::from_secs(5)).await.expect("back");
        assert_eq!((second.id.as_str(), second.attempt), (id.as_str(), 2), "{backend}");
        assert_ne!(second.token, first.token);
        // The old owner can no longer extend, complete, retry or bury it.
        assert!(!queue.extend(&first, Duration::from_secs(30)).await.expect("extend"), "{backend}: stale extend");
        queue.complete(&first).await.expect("stale complete is a no-op");
        queue.bury(&first, "stale").await.expect("stale bury is a no-op");
        assert!(
            queue.extend(&second, Duration::from_secs(30)).await.expect("extend"),
            "{backend}: still the new owner's"
        );
        queue.complete(&second).await.expect("complete");
        assert!(
            claim_within(&*queue, q, Duration::from_secs(1), Duration::from_millis(400)).await.is_none(),
            "{backend}: done"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_wait_their_delay_and_buried_jobs_stay_buried() {
    for (backend, queue, _guard) in queues().await {
        let q = "retries";
        queue.enqueue(q, "a").await.expect("enqueue");
        let job = queue.claim(q, Duration::from_secs(30)).await.expect("claim").expect("job");
        queue.retry(&job, Duration::from_millis(400), "hiccup").await.expect("retry");
        let started = Instant::now();
        let again = claim_within(&*queue, q, Duration::from_secs(30), Duration::from_secs(5)).await.expect("retried");
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{backend}: claimed {:?} after a 400 ms retry",
            started.elapsed()
        );
        assert_eq!(again.attempt, 2, "{backend}");
        queue.bury(&again, "for good").await.expect("bury");
        assert!(
            claim_within(&*queue, q, Duration::from_secs(1), Duration::from_millis(400)).await.is_none(),
            "{backend}: buried"
        );
        // Jobs are taken oldest first.
        let ids = [queue.enqueue(q, "1").await.expect("e"), queue.enqueue(q, "2").await.expect("e")];
        let a = queue.claim(q, Duration::from_secs(30)).await.expect("claim").expect("job");
        let b = queue.claim(q, Duration::from_secs(30)).await.expect("claim").expect("job");
        assert_eq!([a.id, b.id], ids, "{backend}: FIFO");
    }
}

/// Fails with `Retry` until attempt `succeed_on`, records what happened.
struct Flaky {
    succeed_on: u32,
    permanent: bool,
    runs: AtomicU32,
    gave_up: Mutex<Vec<String>>,
}

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if self.permanent {
            return Err(JobError::Fail("bad input".to_owned()));
        }
        if job.attempt < self.succeed_on {
            Err(JobError::Retry(format!("attempt {}", job.attempt).into()))
        } else {
            Ok(AfterSettle::nothing())
        }
    }

    async fn gave_up(&self, _job: &ClaimedJob, error: &str) -> AfterSettle {
        self.gave_up.lock().expect("lock").push(error.to_owned());
        AfterSettle::nothing()
    }
}

async fn run_until(queue: Arc<dyn JobQueue>, handler: Arc<Flaky>, q: &str, done: impl Fn(&Flaky) -> bool) {
    let config = WorkerConfig {
        queue: q.to_owned(),
        concurrency: 2,
        lease: Duration::from_secs(3),
        poll_interval: Duration::from_millis(50),
        policy: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        },
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(queue, handler.clone(), config, stopped));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&handler) {
        assert!(Instant::now() < deadline, "the worker did not finish in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).expect("stop");
    worker.await.expect("worker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_retries_with_back_off_then_gives_up() {
    for (backend, queue, _guard) in queues().await {
        // Succeeds on the third and last attempt.
        queue.enqueue("flaky", "x").await.expect("enqueue");
        let handler =
            Arc::new(Flaky { succeed_on: 3, permanent: false, runs: AtomicU32::new(0), gave_up: Mutex::default() });
        run_until(queue.clone(), handler.clone(), "flaky", |h| h.runs.load(Ordering::SeqCst) == 3).await;
        assert!(handler.gave_up.lock().expect("lock").is_empty(), "{backend}");
        assert!(queue.claim("flaky", Duration::from_secs(1)).await.expect("claim").is_none(), "{backend}: completed");

        // Never succeeds: three attempts, then given up once.
        queue.enqueue("hopeless", "x").await.expect("enqueue");
        let handler =
            Arc::new(Flaky { succeed_on: 99, permanent: false, runs: AtomicU32::new(0), gave_up: Mutex::default() });
        run_until(queue.clone(), handler.clone(), "hopeless", |h| !h.gave_up.lock().expect("lock").is_empty()).await;
        assert_eq!(handler.runs.load(Ordering::SeqCst), 3, "{backend}");
        assert_eq!(*handler.gave_up.lock().expect("lock"), ["attempt 3"], "{backend}");

        // A permanent failure is not retried.
        queue.enqueue("bad", "x").await.expect("enqueue");
        let handler =
            Arc::new(Flaky { succeed_on: 1, permanent: true, runs: AtomicU32::new(0), gave_up: Mutex::default() });
        run_until(queue.clone(), handler.clone(), "bad", |h| !h.gave_up.lock().expect("lock").is_empty()).await;
        assert_eq!(handler.runs.load(Ordering::SeqCst), 1, "{backend}");

        // A job whose last attempt stalled (claimed, never settled) is given up, not run a fourth time.
        queue.enqueue("stalled", "x").await.expect("enqueue");
        for _ in 0..3 {
            claim_within(&*queue, "stalled", Duration::from_millis(100), Duration::from_secs(5)).await.expect("claim");
        }
        let handler =
            Arc::new(Flaky { succeed_on: 1, permanent: false, runs: AtomicU32::new(0), gave_up: Mutex::default() });
        run_until(queue.clone(), handler.clone(), "stalled", |h| !h.gave_up.lock().expect("lock").is_empty()).await;
        assert_eq!(handler.runs.load(Ordering::SeqCst), 0, "{backend}: not run again");
        assert!(handler.gave_up.lock().expect("lock")[0].contains("stopped responding"), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_each_state_and_revive_a_buried_job() {
    use omnisonic_platform::{JobCounts, JobState};
    for (backend, queue, _guard) in queues().await {
        let q = "inspect";
        let failed = queue.enqueue(q, "failed").await.expect("enqueue");
        let buried = queue.enqueue(q, "buried").await.expect("enqueue");
        let running = queue.enqueue(q, "running").await.expect("enqueue");
        let mut claimed = Vec::new();
        for _ in 0..3 {
            claimed.push(queue.claim(q, Duration::from_secs(30)).await.expect("claim").expect("job"));
        }
        assert_eq!([&claimed[0].id, &claimed[1].id, &claimed[2].id], [&failed, &buried, &running], "{backend}: FIFO");
        queue.retry(&claimed[0], Duration::from_secs(3600), "disk full").await.expect("retry later");
        queue.bury(&claimed[1], "bad input").await.expect("bury");
        let queued = queue.enqueue(q, "queued").await.expect("enqueue");

        let counts = queue.counts(q).await.expect("counts");
        assert_eq!(counts, JobCounts { queued: 1, running: 1, failed: 1, buried: 1 }, "{backend}");
        let jobs = queue.inspect(q, 10).await.expect("inspect");
        let state_of = |id: &str| jobs.iter().find(|j| j.id == id).map(|j| (j.state, j.last_error.clone()));
        assert_eq!(state_of(&queued), Some((JobState::Queued, None)), "{backend}: {jobs:?}");
        assert_eq!(state_of(&running), Some((JobState::Running, None)), "{backend}: {jobs:?}");
        assert_eq!(state_of(&failed).map(|s| s.0), Some(JobState::Failed), "{backend}");
        assert_eq!(state_of(&buried), Some((JobState::Buried, Some("bad input".to_owned()))), "{backend}");
        assert_eq!(queue.counts("no-such-queue").await.expect("counts"), JobCounts::default(), "{backend}");

        // Only a buried job can be revived, once; then it runs again with fresh attempts.
        assert!(!queue.revive(q, &running).await.expect("revive"), "{backend}: not buried");
        assert!(!queue.revive(q, "no-such-job").await.expect("revive"), "{backend}");
        assert!(queue.revive(q, &buried).await.expect("revive"), "{backend}");
        assert!(!queue.revive(q, &buried).await.expect("revive"), "{backend}: once");
        assert_eq!(queue.counts(q).await.expect("counts").buried, 0, "{backend}");
        // Due now, behind the job queued earlier.
        let mut claimed = Vec::new();
        for _ in 0..2 {
            claimed
                .push(claim_within(&*queue, q, Duration::from_secs(30), Duration::from_secs(5)).await.expect("claim"));
        }
        let revived = claimed.iter().find(|job| job.id == buried).expect("the revived job runs again");
        assert_eq!(revived.attempt, 1, "{backend}: fresh attempts");
    }
}
