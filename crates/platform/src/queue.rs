//! The job queue: a small trait of ours ([`JobQueue`]) with two implementations — a table in Omnisonic's own
//! database (the embedded default; it lives in the binary crate, beside the SQL it needs) and Redis
//! ([`RedisQueue`], when `REDIS_URL` is set) — and the worker loop that runs handlers on either ([`run_worker`]).
//!
//! Semantics, the same on every backend:
//! - **At least once.** A claimed job is *leased* until a deadline that the worker extends while the handler runs
//!   (heartbeats on the async threads; handlers do CPU work on blocking threads, so it cannot starve them). A job
//!   whose worker died stops being extended, its lease runs out, and the next claim takes it again: a stalled job
//!   is retried under the same policy as a failed one. Handlers must therefore be idempotent.
//! - **Leases are fenced.** Each claim gets a fresh token; extending, completing or retrying with a stale token is
//!   refused, so a worker that lost its lease cannot finish a job another worker now owns.
//! - **Retries** back off exponentially ([`RetryPolicy`]); after the last attempt the job is *buried* (kept with
//!   its error for inspection) and the handler's [`JobHandler::gave_up`] records the failure where users see it.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Any error, kept with its source chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong talking to the queue's backend.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Redis refused or failed.
    #[error("job queue: {0}")]
    Redis(#[from] redis::RedisError),
    /// Another backend (the database) refused or failed.
    #[error("job queue: {0}")]
    Backend(#[source] BoxError),
}

/// An error with what was being done when it happened (`"load the export: database error"`).
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct WhileDoing {
    context: String,
    #[source]
    source: BoxError,
}

/// A job a worker has claimed and holds the lease of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job's id.
    pub id: String,
    /// The queue it came from.
    pub queue: String,
    /// The handler's input (JSON, by convention).
    pub payload: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The lease token: proves this worker still owns the job.
    pub token: String,
}

/// Where a job stands, for operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Waiting for its first attempt.
    Queued,
    /// Leased by a worker.
    Running,
    /// An attempt failed; waiting to be tried again.
    Failed,
    /// Out of attempts (or failed for good): kept with its error, never claimed again unless revived.
    Buried,
}

impl JobState {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Queued, Self::Running, Self::Failed, Self::Buried];

    /// Its lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Buried => "buried",
        }
    }
}

/// A job as operators see it (`omnisonic jobs list`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInfo {
    /// The job's id.
    pub id: String,
    /// Its queue.
    pub queue: String,
    /// Where it stands.
    pub state: JobState,
    /// Attempts so far.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Its payload (JSON).
    pub payload: String,
}

/// How many jobs of a queue are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting for a first attempt.
    pub queued: u64,
    /// Leased.
    pub running: u64,
    /// Waiting for another attempt.
    pub failed: u64,
    /// Given up.
    pub buried: u64,
}

impl JobCounts {
    /// The count of `state`.
    pub fn of(&self, state: JobState) -> u64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Running => self.running,
            JobState::Failed => self.failed,
            JobState::Buried => self.buried,
        }
    }
}

/// A durable queue of jobs with leases.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Adds a job to `queue`; returns its id.
    async fn enqueue(&self, queue: &str, payload: &str) -> Result<String, QueueError>;
    /// Takes the oldest job that is due (new, retry time reached, or lease expired) and leases it for `lease`.
    async fn claim(&self, queue: &str, lease: Duration) -> Result<Option<ClaimedJob>, QueueError>;
    /// Extends the lease; `false` when the job is no longer this worker's (lease lost to another claim).
    async fn extend(&self, job: &ClaimedJob, lease: Duration) -> Result<bool, QueueError>;
    /// Removes a finished job.
    async fn complete(&self, job: &ClaimedJob) -> Result<(), QueueError>;
    /// Releases the job to run again after `delay`, recording `error`.
    async fn retry(&self, job: &ClaimedJob, delay: Duration, error: &str) -> Result<(), QueueError>;
    /// Gives the job up: it stays, marked dead with `error`, and is never claimed again.
    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<(), QueueError>;
    /// Waits until work may be due on `queue` or `max` has passed (backends without a signal just sleep).
    async fn wait_for_work(&self, _queue: &str, max: Duration) {
        tokio::time::sleep(max).await;
    }
    /// The jobs of `queue`, at most `limit`, for inspection.
    async fn inspect(&self, queue: &str, limit: usize) -> Result<Vec<JobInfo>, QueueError>;
    /// How many jobs of `queue` are in each state.
    async fn counts(&self, queue: &str) -> Result<JobCounts, QueueError>;
    /// Puts a buried job of `queue` back to run now with fresh attempts; `false` when no buried job has this id.
    async fn revive(&self, queue: &str, id: &str) -> Result<bool, QueueError>;
    /// "database" or "redis".
    fn describe(&self) -> &'static str;
}

/// When to retry a failed job and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each one after.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_secs(2), max_delay: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// The delay after attempt `attempt` (from 1) failed: `base · 2^(attempt-1)`, at most `max_delay`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Why a handler failed, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Transient (a store or database hiccup): retry under the policy. The cause keeps its source chain.
    #[error(transparent)]
    Retry(BoxError),
    /// Permanent (bad input, over a limit): do not retry. The message is what users are shown.
    #[error("{0}")]
    Fail(String),
}

impl JobError {
    /// A transient failure while doing `context`.
    pub fn retry(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Retry(Box::new(WhileDoing { context: context.into(), source: source.into() }))
    }
}

/// What a handler wants done once its job is settled (completed, re-queued or buried): announcing the outcome.
///
/// Announcing only after settling means whoever hears "done" or "failed" finds the queue already agreeing; a
/// listener that looks at the job right after the event never sees it still running.
#[derive(Default)]
#[must_use]
pub struct AfterSettle(Option<futures::future::BoxFuture<'static, ()>>);

impl AfterSettle {
    /// Nothing to announce.
    pub fn nothing() -> Self {
        Self(None)
    }

    /// Runs `announce` after the job is settled.
    pub fn then(announce: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        Self(Some(Box::pin(announce)))
    }

    async fn run(self) {
        if let Some(announce) = self.0 {
            announce.await;
        }
    }
}

impl From<()> for AfterSettle {
    fn from((): ()) -> Self {
        Self::nothing()
    }
}

/// Runs jobs of one queue.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job. May run more than once for the same job (at-least-once delivery): must be idempotent.
    async fn run(&self, job: &ClaimedJob) -> Result<AfterSettle, JobError>;
    /// The job will not be tried again: record the failure where users see it (durably, before the job is
    /// buried); announce it in the returned [`AfterSettle`].
    async fn gave_up(&self, job: &ClaimedJob, error: &str) -> AfterSettle;
}

/// How a worker runs one queue.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The queue's name.
    pub queue: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim holds a job without a heartbeat; heartbeats come every third of it.
    pub lease: Duration,
    /// The longest wait between looks for new work.
    pub poll_interval: Duration,
    /// Retries.
    pub policy: RetryPolicy,
}

/// Claims and runs jobs until `shutdown` turns true, then waits for the jobs in flight.
pub async fn run_worker(
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    config: WorkerConfig,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    let mut in_flight = tokio::task::JoinSet::new();
    tracing::info!(queue = %config.queue, concurrency = config.concurrency, backend = queue.describe(), "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit { Ok(permit) => permit, Err(_) => break },
            // A dropped sender means the owner is gone: stop as for a request.
            changed = shutdown.changed() => if changed.is_err() { break } else { continue },
        };
        while in_flight.try_join_next().is_some() {}
        let claimed = match queue.claim(&config.queue, config.lease).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, queue = %config.queue, "could not claim a job");
                None
            }
        };
        let Some(job) = claimed else {
            drop(permit);
            tokio::select! {
                () = queue.wait_for_work(&config.queue, config.poll_interval) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
            continue;
        };
        let (queue, handler, config) = (queue.clone(), handler.clone(), config.clone());
        let span = tracing::info_span!("job", queue = %job.queue, id = %job.id, attempt = job.attempt);
        in_flight.spawn(
            async move {
                run_one(&*queue, &*handler, &config, &job).await;
                drop(permit);
            }
            .instrument(span),
        );
    }
    while in_flight.join_next().await.is_some() {}
    tracing::info!(queue = %config.queue, "worker stopped");
}

/// Runs one claimed job with heartbeats, then settles it: complete, retry or bury.
async fn run_one(queue: &dyn JobQueue, handler: &dyn JobHandler, config: &WorkerConfig, job: &ClaimedJob) {
    if job.attempt > config.policy.max_attempts {
        // Claimed again after its last attempt stalled (the worker died mid-run): out of attempts.
        let error = format!("gave up after {} attempts (the last one stopped responding)", config.policy.max_attempts);
        let after = handler.gave_up(job, &error).await;
        settle(queue.bury(job, &error).await);
        after.run().await;
        return;
    }
    let heartbeat = async {
        let mut tick = tokio::time::interval(config.lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match queue.extend(job, config.lease).await {
                Ok(true) => {}
                Ok(false) => return,
                // A failed heartbeat is not yet a lost lease: keep trying until it really runs out.
                Err(err) => tracing::warn!(error = %err, "job heartbeat failed"),
            }
        }
    };
    let outcome = tokio::select! {
        outcome = handler.run(job) => Some(outcome),
        () = heartbeat => None,
    };
    match outcome {
        None => tracing::warn!("lost the job's lease to another worker; stopped it"),
        Some(Ok(after)) => {
            settle(queue.complete(job).await);
            after.run().await;
        }
        Some(Err(error @ JobError::Retry(_))) if job.attempt < config.policy.max_attempts => {
            let delay = config.policy.delay_after(job.attempt);
            tracing::warn!(error = &error as &dyn std::error::Error, retry_in = ?delay, "job failed; will retry");
            settle(queue.retry(job, delay, &error.to_string()).await);
        }
        Some(Err(error)) => {
            tracing::warn!(error = &error as &dyn std::error::Error, "job failed for good");
            let message = error.to_string();
            let after = handler.gave_up(job, &message).await;
            settle(queue.bury(job, &message).await);
            after.run().await;
        }
    }
}

fn settle(result: Result<(), QueueError>) {
    if let Err(err) = result {
        // The lease will run out and the job run again; handlers are idempotent.
        tracing::warn!(error = &err as &dyn std::error::Error, "could not settle a job");
    }
}

/// The queue on Redis: a sorted set of due jobs (score: when due), one of leased jobs (score: lease deadline), and
/// a hash per job (a buried job's hash is kept 30 days for inspection, its id in the queue's `dead` set). Every state change is one Lua script, so it is atomic, and time comes from the Redis server's
/// clock, so nodes with skewed clocks agree on deadlines.
#[derive(Clone)]
pub struct RedisQueue {
    connection: redis::aio::ConnectionManager,
    prefix: String,
}

const CLAIM: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #due == 0 then return false end
local id = due[1]
redis.call('ZREM', KEYS[1], id)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
local key = ARGV[3] .. id
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'token', ARGV[2])
return {id, redis.call('HGET', key, 'payload'), attempts}
";

const EXTEND: &str = r"
local key = ARGV[3] .. ARGV[1]
if redis.call('HGET', key, 'token') ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
return 1
";

/// KEYS: due, leased, dead. ARGV: id, token, prefix, action (complete|retry|bury), delay ms, error.
const SETTLE: &str = r"
local key = ARGV[3] .. ARGV[1]
if redis.call('HGET', key, 'token') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] == 'complete' then
  redis.call('DEL', key)
elseif ARGV[4] == 'retry' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', key, 'last_error', ARGV[6], 'token', '')
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[1])
else
  redis.call('HSET', key, 'last_error', ARGV[6], 'token', '', 'dead', '1')
  redis.call('EXPIRE', key, 2592000)
  redis.call('SADD', KEYS[3], ARGV[1])
end
return 1
";

/// KEYS: due, leased, dead. ARGV: job key prefix. Returns queued, running, failed, buried. A buried job's hash
/// expires after 30 days; its id is dropped from the dead set here, so the set does not outgrow what is kept.
const COUNTS: &str = r"
local queued, failed, buried = 0, 0, 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('HEXISTS', ARGV[1] .. id, 'last_error') == 1 then failed = failed + 1 else queued = queued + 1 end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('EXISTS', ARGV[1] .. id) == 1 then buried = buried + 1 else redis.call('SREM', KEYS[3], id) end
end
return {queued, redis.call('ZCARD', KEYS[2]), failed, buried}
";

/// KEYS: due, dead. ARGV: id, job key prefix.
const REVIVE: &str = r"
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
local key = ARGV[2] .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('PERSIST', key)
redis.call('HSET', key, 'attempts', 0, 'token', '')
redis.call('HDEL', key, 'dead')
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
return 1
";

impl RedisQueue {
    /// A queue on the Redis at `url`; keys start with `prefix` (e.g. `omnisonic:`).
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, QueueError> {
        let client = redis::Client::open(url)?;
        let connection = redis::aio::ConnectionManager::new(client).await?;
        Ok(Self { connection, prefix: prefix.to_owned() })
    }

    fn keys(&self, queue: &str) -> [String; 3] {
        let base = format!("{}queue:{queue}", self.prefix);
        [format!("{base}:due"), format!("{base}:leased"), format!("{base}:dead")]
    }

    fn job_prefix(&self) -> String {
        format!("{}job:", self.prefix)
    }

    async fn settle(&self, job: &ClaimedJob, action: &str, delay: Duration, error: &str) -> Result<(), QueueError> {
        let [due, leased, dead] = self.keys(&job.queue);
        let mut connection = self.connection.clone();
        let _: i64 = redis::Script::new(SETTLE)
            .key(due)
            .key(leased)
            .key(dead)
            .arg(&job.id)
            .arg(&job.token)
            .arg(self.job_prefix())
            .arg(action)
            .arg(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
            .arg(error)
            .invoke_async(&mut connection)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn enqueue(&self, queue: &str, payload: &str) -> Result<String, QueueError> {
        let id = uuid::Uuid::now_v7().to_string();
        let [due, ..] = self.keys(queue);
        let mut connection = self.connection.clone();
        let now_ms = chrono::Utc::now().timestamp_millis();
        redis::pipe()
            .atomic()
            .hset_multiple(format!("{}{id}", self.job_prefix()), &[("payload", payload), ("attempts", "0")])
            .zadd(due, &id, now_ms)
            .exec_async(&mut connection)
            .await?;
        Ok(id)
    }

    async fn claim(&self, queue: &str, lease: Duration) -> Result<Option<ClaimedJob>, QueueError> {
        let [due, leased, _] = self.keys(queue);
        let token = uuid::Uuid::now_v7().simple().to_string();
        let mut connection = self.connection.clone();
        let claimed: Option<(String, String, u32)> = redis::Script::new(CLAIM)
            .key(due)
            .key(leased)
            .arg(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX))
            .arg(&token)
            .arg(self.job_prefix())
            .invoke_async(&mut connection)
            .await?;
        Ok(claimed.map(|(id, payload, attempt)| ClaimedJob { id, queue: queue.to_owned(), payload, attempt, token }))
    }

    async fn extend(&self, job: &ClaimedJob, lease: Duration) -> Result<bool, QueueError> {
        let [_, leased, _] = self.keys(&job.queue);
        let mut connection = self.connection.clone();
        let extended: i64 = redis::Script::new(EXTEND)
            .key(leased)
            .arg(&job.id)
            .arg(&job.token)
            .arg(self.job_prefix())
            .arg(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut connection)
            .await?;
        Ok(extended == 1)
    }

    async fn complete(&self, job: &ClaimedJob) -> Result<(), QueueError> {
        self.settle(job, "complete", Duration::ZERO, "").await
    }

    async fn retry(&self, job: &ClaimedJob, delay: Duration, error: &str) -> Result<(), QueueError> {
        self.settle(job, "retry", delay, error).await
    }

    async fn bury(&self, job: &ClaimedJob, error: &str) -> Result<(), QueueError> {
        self.settle(job, "bury", Duration::ZERO, error).await
    }

    async fn inspect(&self, queue: &str, limit: usize) -> Result<Vec<JobInfo>, QueueError> {
        let [due, leased, dead] = self.keys(queue);
        let mut connection = self.connection.clone();
        let end = isize::try_from(limit).unwrap_or(isize::MAX).saturating_sub(1);
        let running: Vec<String> =
            redis::cmd("ZRANGE").arg(&leased).arg(0).arg(end).query_async(&mut connection).await?;
        let waiting: Vec<String> = redis::cmd("ZRANGE").arg(&due).arg(0).arg(end).query_async(&mut connection).await?;
        let buried: Vec<String> = redis::cmd("SMEMBERS").arg(&dead).query_async(&mut connection).await?;
        let mut jobs = Vec::new();
        for (ids, running, buried) in [(running, true, false), (waiting, false, false), (buried, false, true)] {
            for id in ids {
                if jobs.len() >= limit {
                    return Ok(jobs);
                }
                let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
                    .arg(format!("{}{id}", self.job_prefix()))
                    .query_async(&mut connection)
                    .await?;
                if fields.is_empty() {
                    // A buried job kept past its 30 days: gone.
                    continue;
                }
                let last_error = fields.get("last_error").filter(|e| !e.is_empty()).cloned();
                let state = match (running, buried, &last_error) {
                    (true, _, _) => JobState::Running,
                    (_, true, _) => JobState::Buried,
                    (_, _, Some(_)) => JobState::Failed,
                    _ => JobState::Queued,
                };
                jobs.push(JobInfo {
                    id,
                    queue: queue.to_owned(),
                    state,
                    attempts: fields.get("attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
                    last_error,
                    payload: fields.get("payload").cloned().unwrap_or_default(),
                });
            }
        }
        Ok(jobs)
    }

    async fn counts(&self, queue: &str) -> Result<JobCounts, QueueError> {
        let [due, leased, dead] = self.keys(queue);
        let mut connection = self.connection.clone();
        let (queued, running, failed, buried): (u64, u64, u64, u64) = redis::Script::new(COUNTS)
            .key(due)
            .key(leased)
            .key(dead)
            .arg(self.job_prefix())
            .invoke_async(&mut connection)
            .await?;
        Ok(JobCounts { queued, running, failed, buried })
    }

    async fn revive(&self, queue: &str, id: &str) -> Result<bool, QueueError> {
        let [due, _, dead] = self.keys(queue);
        let mut connection = self.connection.clone();
        let revived: i64 = redis::Script::new(REVIVE)
            .key(due)
            .key(dead)
            .arg(id)
            .arg(self.job_prefix())
            .invoke_async(&mut connection)
            .await?;
        Ok(revived == 1)
    }

    fn describe(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let policy =
            RetryPolicy { max_attempts: 10, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(5) };
        let delays: Vec<u64> = (1..=5).map(|attempt| policy.delay_after(attempt).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert_eq!(policy.delay_after(u32::MAX), Duration::from_secs(5));
    }
}
