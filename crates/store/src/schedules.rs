//! Schedule periods (`schedule_runs`): which period of each schedule has been claimed, so a periodic job is
//! enqueued once per period however many nodes run the scheduler.

use crate::StoreError;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Claims `period` of schedule `name`: `true` for exactly one caller per name and period (and never for a period
/// at or before one already claimed). One conditional upsert, atomic on both databases.
pub async fn claim_period(db: &impl ConnectionTrait, name: &str, period: i64, now_ms: i64) -> Result<bool, StoreError> {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "INSERT INTO schedule_runs (name, last_period, claimed_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET last_period = excluded.last_period, claimed_at_ms = excluded.claimed_at_ms \
         WHERE schedule_runs.last_period < excluded.last_period"
    } else {
        "INSERT INTO schedule_runs (name, last_period, claimed_at_ms) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET last_period = excluded.last_period, claimed_at_ms = excluded.claimed_at_ms \
         WHERE schedule_runs.last_period < excluded.last_period"
    };
    let result = db
        .execute_raw(Statement::from_sql_and_values(backend, sql, vec![name.into(), period.into(), now_ms.into()]))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives a claimed period back (its job could not be enqueued), so the next look claims it again.
pub async fn release_period(db: &impl ConnectionTrait, name: &str, period: i64) -> Result<(), StoreError> {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "UPDATE schedule_runs SET last_period = $1 WHERE name = $2 AND last_period = $3"
    } else {
        "UPDATE schedule_runs SET last_period = ? WHERE name = ? AND last_period = ?"
    };
    let values = vec![(period - 1).into(), name.into(), period.into()];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}
