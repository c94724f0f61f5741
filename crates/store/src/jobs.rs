//! The job queue's table (`jobs`): the embedded queue backend, on SQLite or PostgreSQL.
//!
//! A claim is one `UPDATE … RETURNING` of the oldest due row — new, retry time reached, or lease expired — that
//! bumps its attempt count and writes a fresh lease token. On PostgreSQL the row is picked with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never block on or take the same job; SQLite has one writer, which
//! makes the statement atomic by itself. Every later change names the token, so a worker whose lease ran out (and
//! whose job another worker now holds) changes nothing. Times are epoch milliseconds from the caller's clock.

use crate::StoreError;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// A claimed job row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedRow {
    /// Job id.
    pub id: String,
    /// Handler input.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

fn statement(db: &impl ConnectionTrait, postgres: &str, sqlite: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres { postgres } else { sqlite };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Adds a job due at `now_ms`.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    id: &str,
    queue: &str,
    payload: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    db.execute_raw(statement(
        db,
        "INSERT INTO jobs (id, queue, payload, attempts, run_at_ms, dead, created_at_ms) VALUES ($1, $2, $3, 0, $4, FALSE, $4)",
        "INSERT INTO jobs (id, queue, payload, attempts, run_at_ms, dead, created_at_ms) VALUES (?, ?, ?, 0, ?, FALSE, ?)",
        vec![id.into(), queue.into(), payload.into(), now_ms.into(), now_ms.into()],
    ))
    .await?;
    Ok(())
}

/// Claims the oldest due job of `queue`, leasing it until `lease_until_ms` under `token`.
pub async fn claim(
    db: &impl ConnectionTrait,
    queue: &str,
    now_ms: i64,
    lease_until_ms: i64,
    token: &str,
) -> Result<Option<ClaimedRow>, StoreError> {
    let row = db
        .query_one_raw(statement(
            db,
            "UPDATE jobs SET attempts = attempts + 1, lease_until_ms = $1, lease_token = $2 \
             WHERE id = (SELECT id FROM jobs WHERE queue = $3 AND dead = FALSE AND run_at_ms <= $4 \
                         AND (lease_until_ms IS NULL OR lease_until_ms < $4) \
                         ORDER BY run_at_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, payload, attempts",
            "UPDATE jobs SET attempts = attempts + 1, lease_until_ms = ?, lease_token = ? \
             WHERE id = (SELECT id FROM jobs WHERE queue = ? AND dead = FALSE AND run_at_ms <= ? \
                         AND (lease_until_ms IS NULL OR lease_until_ms < ?) \
                         ORDER BY run_at_ms, id LIMIT 1) \
             RETURNING id, payload, attempts",
            if db.get_database_backend() == DbBackend::Postgres {
                vec![lease_until_ms.into(), token.into(), queue.into(), now_ms.into()]
            } else {
                vec![lease_until_ms.into(), token.into(), queue.into(), now_ms.into(), now_ms.into()]
            },
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ClaimedRow {
        id: row.try_get("", "id")?,
        payload: row.try_get("", "payload")?,
        attempts: row.try_get("", "attempts")?,
    }))
}

/// Extends a lease still held under `token`; `false` when it is not.
pub async fn extend(db: &impl ConnectionTrait, id: &str, token: &str, lease_until_ms: i64) -> Result<bool, StoreError> {
    let result = db
        .execute_raw(statement(
            db,
            "UPDATE jobs SET lease_until_ms = $1 WHERE id = $2 AND lease_token = $3 AND dead = FALSE",
            "UPDATE jobs SET lease_until_ms = ? WHERE id = ? AND lease_token = ? AND dead = FALSE",
            vec![lease_until_ms.into(), id.into(), token.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a finished job held under `token`.
pub async fn complete(db: &impl ConnectionTrait, id: &str, token: &str) -> Result<bool, StoreError> {
    let result = db
        .execute_raw(statement(
            db,
            "DELETE FROM jobs WHERE id = $1 AND lease_token = $2",
            "DELETE FROM jobs WHERE id = ? AND lease_token = ?",
            vec![id.into(), token.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Releases a job held under `token` to run again at `run_at_ms`.
pub async fn retry(
    db: &impl ConnectionTrait,
    id: &str,
    token: &str,
    run_at_ms: i64,
    error: &str,
) -> Result<bool, StoreError> {
    let result = db
        .execute_raw(statement(
            db,
            "UPDATE jobs SET run_at_ms = $1, lease_until_ms = NULL, lease_token = NULL, last_error = $2 \
             WHERE id = $3 AND lease_token = $4",
            "UPDATE jobs SET run_at_ms = ?, lease_until_ms = NULL, lease_token = NULL, last_error = ? \
             WHERE id = ? AND lease_token = ?",
            vec![run_at_ms.into(), error.into(), id.into(), token.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a job held under `token` dead, keeping it with its error.
pub async fn bury(db: &impl ConnectionTrait, id: &str, token: &str, error: &str) -> Result<bool, StoreError> {
    let result = db
        .execute_raw(statement(
            db,
            "UPDATE jobs SET dead = TRUE, lease_until_ms = NULL, lease_token = NULL, last_error = $1 \
             WHERE id = $2 AND lease_token = $3",
            "UPDATE jobs SET dead = TRUE, lease_until_ms = NULL, lease_token = NULL, last_error = ? \
             WHERE id = ? AND lease_token = ?",
            vec![error.into(), id.into(), token.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// How many jobs of `queue` are waiting or running (`dead = false`) and how many are dead.
pub async fn counts(db: &impl ConnectionTrait, queue: &str) -> Result<(i64, i64), StoreError> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT COALESCE(SUM(CASE WHEN dead THEN 0 ELSE 1 END), 0) AS live, \
                    COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0) AS dead FROM jobs WHERE queue = $1",
            "SELECT COALESCE(SUM(CASE WHEN dead THEN 0 ELSE 1 END), 0) AS live, \
                    COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0) AS dead FROM jobs WHERE queue = ?",
            vec![queue.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok((0, 0)) };
    Ok((row.try_get("", "live")?, row.try_get("", "dead")?))
}

/// A job row as operators see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// Handler input.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Leased until then (epoch ms), if leased.
    pub lease_until_ms: Option<i64>,
    /// Given up.
    pub dead: bool,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

/// The jobs of `queue`, oldest first, at most `limit`.
pub async fn list(db: &impl ConnectionTrait, queue: &str, limit: u64) -> Result<Vec<JobRow>, StoreError> {
    let rows = db
        .query_all_raw(statement(
            db,
            "SELECT id, payload, attempts, lease_until_ms, dead, last_error FROM jobs WHERE queue = $1 \
             ORDER BY created_at_ms, id LIMIT $2",
            "SELECT id, payload, attempts, lease_until_ms, dead, last_error FROM jobs WHERE queue = ? \
             ORDER BY created_at_ms, id LIMIT ?",
            vec![queue.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(JobRow {
                id: row.try_get("", "id")?,
                payload: row.try_get("", "payload")?,
                attempts: row.try_get("", "attempts")?,
                lease_until_ms: row.try_get("", "lease_until_ms")?,
                dead: row.try_get("", "dead")?,
                last_error: row.try_get("", "last_error")?,
            })
        })
        .collect()
}

/// Jobs of `queue` by state at `now_ms`: queued (never failed), running (leased), failed (waiting to retry),
/// buried.
pub async fn state_counts(db: &impl ConnectionTrait, queue: &str, now_ms: i64) -> Result<[i64; 4], StoreError> {
    let row = db
        .query_one_raw(statement(
            db,
            "SELECT \
               COALESCE(SUM(CASE WHEN NOT dead AND (lease_until_ms IS NULL OR lease_until_ms < $1) AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS queued, \
               COALESCE(SUM(CASE WHEN NOT dead AND lease_until_ms >= $1 THEN 1 ELSE 0 END), 0) AS running, \
               COALESCE(SUM(CASE WHEN NOT dead AND (lease_until_ms IS NULL OR lease_until_ms < $1) AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
               COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0) AS buried \
             FROM jobs WHERE queue = $2",
            "SELECT \
               COALESCE(SUM(CASE WHEN NOT dead AND (lease_until_ms IS NULL OR lease_until_ms < ?1) AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS queued, \
               COALESCE(SUM(CASE WHEN NOT dead AND lease_until_ms >= ?1 THEN 1 ELSE 0 END), 0) AS running, \
               COALESCE(SUM(CASE WHEN NOT dead AND (lease_until_ms IS NULL OR lease_until_ms < ?1) AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
               COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0) AS buried \
             FROM jobs WHERE queue = ?2",
            vec![now_ms.into(), queue.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok([0; 4]) };
    Ok([
        row.try_get("", "queued")?,
        row.try_get("", "running")?,
        row.try_get("", "failed")?,
        row.try_get("", "buried")?,
    ])
}

/// Puts a buried job of `queue` back to run at `now_ms` with fresh attempts; `false` when there is no such job.
pub async fn revive(db: &impl ConnectionTrait, queue: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let result = db
        .execute_raw(statement(
            db,
            "UPDATE jobs SET dead = FALSE, attempts = 0, run_at_ms = $1, lease_until_ms = NULL, lease_token = NULL \
             WHERE id = $2 AND queue = $3 AND dead",
            "UPDATE jobs SET dead = FALSE, attempts = 0, run_at_ms = ?, lease_until_ms = NULL, lease_token = NULL \
             WHERE id = ? AND queue = ? AND dead",
            vec![now_ms.into(), id.into(), queue.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
