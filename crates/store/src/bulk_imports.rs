//! Bulk ISRC import jobs: their rows, and the one write per batch that makes an import resumable.
//!
//! [`BatchWriter::write`] puts a batch's recordings, its findings and its `bulk_import_batches` row in one transaction.
//! That row is the batch's receipt: a resumed import skips batches that have one, and the job's counts are the
//! sums of the receipts, so a worker killed at any point neither loses a row nor counts one twice. On PostgreSQL
//! the whole batch is one statement (arrays through `unnest`, data-modifying CTEs), one round trip in all; on
//! SQLite it is one short transaction of three statements.

use crate::StoreError;
use crate::entities::bulk_import_job::{self, Model as Job};
use crate::entities::recording;
use chrono::{NaiveDate, Utc};
use omnisonic_domain::bulk_import::{Format, Issue};
use omnisonic_domain::catalogue::NewRecording;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, RuntimeErr, Set, Statement, TransactionTrait, Value,
};
use std::sync::Arc;
use uuid::Uuid;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a worker.
    Pending,
    /// A worker is on it.
    Processing,
    /// Every record was read; rejected ones are in the report.
    Completed,
    /// It could not finish (unreadable file, database down past every retry).
    Failed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Whether a stored status is final (`completed` or `failed`).
    pub fn is_finished(status: &str) -> bool {
        status == Self::Completed.as_str() || status == Self::Failed.as_str()
    }
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id.
    pub id: Uuid,
    /// The uploader; `None` from the command line.
    pub user_id: Option<Uuid>,
    /// The file's format.
    pub format: Format,
    /// The file's name, for people.
    pub file_name: String,
    /// Where the file is.
    pub file_key: String,
    /// Its size.
    pub file_size: i64,
    /// Records per batch.
    pub batch_size: i32,
    /// Records counted on upload (from its lines).
    pub total_records: i64,
}

/// Creates a `pending` job.
pub async fn create_job(db: &impl ConnectionTrait, new: &NewJob) -> Result<Job, StoreError> {
    let now = Utc::now();
    let row = bulk_import_job::ActiveModel {
        id: Set(new.id),
        user_id: Set(new.user_id),
        status: Set(Status::Pending.as_str().to_owned()),
        format: Set(new.format.as_str().to_owned()),
        file_name: Set(new.file_name.clone()),
        file_key: Set(new.file_key.clone()),
        file_size: Set(new.file_size),
        batch_size: Set(new.batch_size),
        total_records: Set(new.total_records),
        processed_records: Set(0),
        accepted_records: Set(0),
        rejected_records: Set(0),
        warning_records: Set(0),
        created_records: Set(0),
        updated_records: Set(0),
        failure: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        completed_at: Set(None),
    };
    Ok(row.insert(db).await?)
}

/// The job with this id.
pub async fn get_job(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Job>, StoreError> {
    Ok(bulk_import_job::Entity::find_by_id(id).one(db).await?)
}

/// The job whose uploaded file is stored under `key`.
pub async fn job_by_file_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<Job>, StoreError> {
    Ok(bulk_import_job::Entity::find().filter(bulk_import_job::Column::FileKey.eq(key)).one(db).await?)
}

/// A user's latest jobs, newest first.
pub async fn jobs_of(db: &impl ConnectionTrait, user_id: Uuid, limit: u64) -> Result<Vec<Job>, StoreError> {
    Ok(bulk_import_job::Entity::find()
        .filter(bulk_import_job::Column::UserId.eq(user_id))
        .order_by_desc(bulk_import_job::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// What an import has done so far: the sums of its batch receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Records read (accepted + rejected).
    pub processed: i64,
    /// Records written.
    pub accepted: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Records written with a warning.
    pub warnings: i64,
    /// Recordings created.
    pub created: i64,
    /// Recordings changed.
    pub updated: i64,
}

impl Totals {
    /// Adds one batch's counts.
    pub fn add(&mut self, other: &Totals) {
        self.processed += other.processed;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.warnings += other.warnings;
        self.created += other.created;
        self.updated += other.updated;
    }
}

/// Marks the job `processing` (keeping the first start time) and returns it.
pub async fn start(db: &impl ConnectionTrait, id: Uuid) -> Result<Job, StoreError> {
    let job =
        get_job(db, id).await?.ok_or_else(|| StoreError::NotFound { entity: "bulk import", id: id.to_string() })?;
    let now = Utc::now();
    let mut row: bulk_import_job::ActiveModel = job.clone().into();
    row.status = Set(Status::Processing.as_str().to_owned());
    row.started_at = Set(Some(job.started_at.unwrap_or(now)));
    row.updated_at = Set(now);
    Ok(row.update(db).await?)
}

/// The batches already written for a job, and their sums.
pub async fn committed(db: &impl ConnectionTrait, job_id: Uuid) -> Result<(Vec<u32>, Totals), StoreError> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            placeholders(
                db,
                "SELECT batch_no, records, accepted, rejected, warnings, created, updated FROM bulk_import_batches \
                 WHERE job_id = ?",
            ),
            vec![job_id.into()],
        ))
        .await?;
    let mut batches = Vec::with_capacity(rows.len());
    let mut totals = Totals::default();
    for row in rows {
        let get = |col: &str| row.try_get::<i32>("", col).map(i64::from);
        batches.push(u32::try_from(row.try_get::<i32>("", "batch_no")?).unwrap_or(0));
        totals.add(&Totals {
            processed: get("records")?,
            accepted: get("accepted")?,
            rejected: get("rejected")?,
            warnings: get("warnings")?,
            created: get("created")?,
            updated: get("updated")?,
        });
    }
    Ok((batches, totals))
}

/// Writes the running counts to the job's row (what the status endpoint shows).
pub async fn save_progress(db: &impl ConnectionTrait, id: Uuid, totals: &Totals) -> Result<(), StoreError> {
    bulk_import_job::Entity::update_many()
        .col_expr(bulk_import_job::Column::ProcessedRecords, Expr::value(totals.processed))
        .col_expr(bulk_import_job::Column::AcceptedRecords, Expr::value(totals.accepted))
        .col_expr(bulk_import_job::Column::RejectedRecords, Expr::value(totals.rejected))
        .col_expr(bulk_import_job::Column::WarningRecords, Expr::value(totals.warnings))
        .col_expr(bulk_import_job::Column::CreatedRecords, Expr::value(totals.created))
        .col_expr(bulk_import_job::Column::UpdatedRecords, Expr::value(totals.updated))
        .col_expr(bulk_import_job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(bulk_import_job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the job `completed` with its final counts; the total becomes the exact number of records read.
pub async fn complete(db: &impl ConnectionTrait, id: Uuid, totals: &Totals) -> Result<Job, StoreError> {
    save_progress(db, id, totals).await?;
    let now = Utc::now();
    bulk_import_job::Entity::update_many()
        .col_expr(bulk_import_job::Column::Status, Expr::value(Status::Completed.as_str()))
        .col_expr(bulk_import_job::Column::TotalRecords, Expr::value(totals.processed))
        .col_expr(bulk_import_job::Column::CompletedAt, Expr::value(now))
        .col_expr(bulk_import_job::Column::UpdatedAt, Expr::value(now))
        .filter(bulk_import_job::Column::Id.eq(id))
        .exec(db)
        .await?;
    get_job(db, id).await?.ok_or_else(|| StoreError::NotFound { entity: "bulk import", id: id.to_string() })
}

/// Marks the job `failed` with a reason for the user.
pub async fn fail(db: &impl ConnectionTrait, id: Uuid, reason: &str) -> Result<(), StoreError> {
    let now = Utc::now();
    bulk_import_job::Entity::update_many()
        .col_expr(bulk_import_job::Column::Status, Expr::value(Status::Failed.as_str()))
        .col_expr(bulk_import_job::Column::Failure, Expr::value(reason))
        .col_expr(bulk_import_job::Column::CompletedAt, Expr::value(now))
        .col_expr(bulk_import_job::Column::UpdatedAt, Expr::value(now))
        .filter(bulk_import_job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A finding as stored, in the error report's columns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredIssue {
    /// The line.
    pub line: i64,
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// The offending value.
    pub value: String,
    /// Why.
    pub reason: String,
    /// `error` (rejected) or `warning` (written).
    pub severity: String,
}

/// Up to `limit` findings after position `after` (line, id), in line order: pages of the error report.
pub async fn issues_after(
    db: &impl ConnectionTrait,
    job_id: Uuid,
    after: (i64, i64),
    limit: u64,
) -> Result<Vec<((i64, i64), StoredIssue)>, StoreError> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            placeholders(
                db,
                &format!(
                    "SELECT id, line, col, value, reason, severity FROM bulk_import_issues WHERE job_id = ? \
                     AND (line > ? OR (line = ? AND id > ?)) ORDER BY line, id LIMIT {limit}"
                ),
            ),
            vec![job_id.into(), after.0.into(), after.0.into(), after.1.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            let issue = StoredIssue {
                line: row.try_get("", "line")?,
                column: row.try_get("", "col")?,
                value: row.try_get("", "value")?,
                reason: row.try_get("", "reason")?,
                severity: row.try_get("", "severity")?,
            };
            Ok(((issue.line, row.try_get::<i64>("", "id")?), issue))
        })
        .collect()
}

/// `?` placeholders as the backend wants them (`$1`, `$2`, … on PostgreSQL).
fn placeholders(db: &impl ConnectionTrait, sql: &str) -> String {
    if db.get_database_backend() != DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// One batch to write.
#[derive(Debug, Clone, Default)]
pub struct BatchWrite {
    /// The job.
    pub job_id: Uuid,
    /// The batch's number in the file, from 0.
    pub batch_no: u32,
    /// Records in the batch.
    pub records: u32,
    /// Records accepted (including ones a later row of the same batch replaced).
    pub accepted: u32,
    /// Records rejected.
    pub rejected: u32,
    /// Records accepted with a warning.
    pub warnings: u32,
    /// The recordings to upsert: one per ISRC, in ISRC order (so concurrent batches lock rows in one order).
    pub rows: Vec<NewRecording>,
    /// The batch's findings.
    pub issues: Vec<Issue>,
}

/// What [`BatchWriter::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Written now: recordings created and changed.
    Written {
        /// New recordings.
        created: u32,
        /// Existing recordings changed (an identical row is left alone).
        updated: u32,
    },
    /// Its receipt was already there (another run of the job wrote it); nothing changed.
    AlreadyWritten,
}

/// Writes an import's batches. On PostgreSQL it has its own small pool whose sessions commit asynchronously
/// (`synchronous_commit = off`): a batch's commit does not wait for its WAL flush. That is safe here because a
/// batch's rows and its receipt commit together — a server crash can lose only the last few batches, receipts
/// included, and a resumed import writes them again — and because the job is marked completed through the main
/// pool with a synchronous commit, whose flush covers every batch committed before it.
///
/// SQLite has one writer: batches written at once queue here for it, in process, instead of spinning in SQLite's
/// busy handler.
#[derive(Clone)]
pub struct BatchWriter {
    db: DatabaseConnection,
    postgres: Option<sea_orm::sqlx::PgPool>,
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

impl BatchWriter {
    /// A writer for up to `connections` batches at once.
    pub fn new(db: &DatabaseConnection, connections: u32) -> Self {
        let postgres = (db.get_database_backend() == DbBackend::Postgres).then(|| {
            let options = db
                .get_postgres_connection_pool()
                .connect_options()
                .as_ref()
                .clone()
                .options([("synchronous_commit", "off")]);
            sea_orm::sqlx::postgres::PgPoolOptions::new()
                .max_connections(connections.max(1))
                .acquire_timeout(std::time::Duration::from_secs(10))
                .connect_lazy_with(options)
        });
        Self { db: db.clone(), postgres, sqlite_writer: Arc::default() }
    }

    /// Writes one batch atomically: its recordings (an ISRC already stored is updated, but only where the file
    /// differs), its findings and its receipt.
    pub async fn write(&self, batch: &BatchWrite) -> Result<BatchOutcome, StoreError> {
        let result = match &self.postgres {
            Some(pool) => write_batch_postgres(pool, batch).await,
            None => {
                let _turn = self.sqlite_writer.lock().await;
                write_batch_sqlite(&self.db, batch).await
            }
        };
        match result {
            Err(StoreError::Conflict { .. }) => Ok(BatchOutcome::AlreadyWritten),
            other => other,
        }
    }
}

/// The columns an upsert overwrites (a macro so both backends' statements can be literals).
macro_rules! upsert_set {
    () => {
        "title = excluded.title, artist = excluded.artist, duration_seconds = excluded.duration_seconds, \
         released_at = excluded.released_at, genre = excluded.genre, title_folded = excluded.title_folded, \
         artist_folded = excluded.artist_folded, genre_folded = excluded.genre_folded, updated_at = excluded.updated_at"
    };
}

const UPSERT_SET: &str = upsert_set!();

/// The PostgreSQL batch statement, with or without the findings part (a batch without findings skips opening
/// that table and its index).
macro_rules! postgres_batch {
    ($findings:expr) => {
        concat!(
            "WITH input AS ( \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::date[], $7::text[], \
                                  $8::text[], $9::text[], $10::text[]) \
               AS t(id, isrc, title, artist, duration_seconds, released_at, genre, title_folded, artist_folded, \
                    genre_folded) \
             ), upserted AS ( \
             INSERT INTO recordings (id, isrc, title, artist, duration_seconds, released_at, genre, title_folded, \
                                     artist_folded, genre_folded, created_at, updated_at) \
             SELECT id, isrc, title, artist, duration_seconds, released_at, genre, title_folded, artist_folded, \
                    genre_folded, $11, $11 FROM input \
             ON CONFLICT (isrc) DO UPDATE SET ",
            upsert_set!(),
            " WHERE (recordings.title, recordings.artist, recordings.duration_seconds, recordings.released_at, \
                     recordings.genre) \
               IS DISTINCT FROM (excluded.title, excluded.artist, excluded.duration_seconds, excluded.released_at, \
                                 excluded.genre) \
             RETURNING (xmax = 0) AS inserted \
             )",
            $findings,
            " INSERT INTO bulk_import_batches (job_id, batch_no, records, accepted, rejected, warnings, created, \
                                              updated) \
             SELECT $12, $13, $14, $15, $16, $17, \
                    count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted \
             RETURNING created, updated"
        )
    };
}

const POSTGRES_BATCH: &str = postgres_batch!("");
const POSTGRES_BATCH_WITH_FINDINGS: &str = postgres_batch!(
    ", findings AS ( \
     INSERT INTO bulk_import_issues (job_id, line, col, value, reason, severity) \
     SELECT $12, * FROM unnest($18::int8[], $19::text[], $20::text[], $21::text[], $22::text[]) )"
);

fn sqlx_error(err: sea_orm::sqlx::Error) -> StoreError {
    StoreError::from(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
}

async fn write_batch_postgres(pool: &sea_orm::sqlx::PgPool, batch: &BatchWrite) -> Result<BatchOutcome, StoreError> {
    let n = batch.rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut isrcs = Vec::with_capacity(n);
    let mut titles = Vec::with_capacity(n);
    let mut artists = Vec::with_capacity(n);
    let mut durations: Vec<Option<i32>> = Vec::with_capacity(n);
    let mut released: Vec<Option<NaiveDate>> = Vec::with_capacity(n);
    let mut genres: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut titles_folded = Vec::with_capacity(n);
    let mut artists_folded = Vec::with_capacity(n);
    let mut genres_folded: Vec<Option<String>> = Vec::with_capacity(n);
    for row in &batch.rows {
        ids.push(Uuid::now_v7());
        isrcs.push(row.isrc.as_str());
        titles.push(row.title.as_str());
        artists.push(row.artist.as_str());
        durations.push(row.duration_seconds.and_then(|d| i32::try_from(d).ok()));
        released.push(row.released_at);
        genres.push(row.genre.as_deref());
        titles_folded.push(recording::fold(&row.title));
        artists_folded.push(recording::fold(&row.artist));
        genres_folded.push(row.genre.as_deref().map(recording::fold));
    }
    let sql = if batch.issues.is_empty() { POSTGRES_BATCH } else { POSTGRES_BATCH_WITH_FINDINGS };
    let mut query = sea_orm::sqlx::query_as::<_, (i32, i32)>(sql)
        .bind(ids)
        .bind(isrcs)
        .bind(titles)
        .bind(artists)
        .bind(durations)
        .bind(released)
        .bind(genres)
        .bind(titles_folded)
        .bind(artists_folded)
        .bind(genres_folded)
        .bind(Utc::now())
        .bind(batch.job_id)
        .bind(batch.batch_no as i32)
        .bind(batch.records as i32)
        .bind(batch.accepted as i32)
        .bind(batch.rejected as i32)
        .bind(batch.warnings as i32);
    if !batch.issues.is_empty() {
        let (lines, columns, values, reasons, severities) = issue_columns(&batch.issues);
        query = query.bind(lines).bind(columns).bind(values).bind(reasons).bind(severities);
    }
    let rows = query.fetch_all(pool).await.map_err(sqlx_error)?;
    let row = rows.first().copied().unwrap_or((0, 0));
    Ok(BatchOutcome::Written { created: row.0 as u32, updated: row.1 as u32 })
}

#[allow(clippy::type_complexity)]
fn issue_columns(issues: &[Issue]) -> (Vec<i64>, Vec<Option<&str>>, Vec<&str>, Vec<&str>, Vec<&'static str>) {
    let lines = issues.iter().map(|i| i64::try_from(i.line).unwrap_or(i64::MAX)).collect();
    let columns = issues.iter().map(|i| i.column.as_deref()).collect();
    let values = issues.iter().map(|i| i.value.as_str()).collect();
    let reasons = issues.iter().map(|i| i.reason.as_str()).collect();
    let severities = issues.iter().map(|i| i.severity.as_str()).collect();
    (lines, columns, values, reasons, severities)
}

async fn write_batch_sqlite(db: &DatabaseConnection, batch: &BatchWrite) -> Result<BatchOutcome, StoreError> {
    let backend = db.get_database_backend();
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut new_ids = std::collections::HashSet::with_capacity(batch.rows.len());
    let (mut created, mut updated) = (0u32, 0u32);
    // SQLite allows 32,766 parameters; 13 per row keeps a statement of 1,000 rows well within that.
    for chunk in batch.rows.chunks(omnisonic_domain::bulk_import::MAX_BATCH_SIZE) {
        let mut sql = String::from(
            "INSERT INTO recordings (id, isrc, title, artist, duration_seconds, released_at, genre, title_folded, \
             artist_folded, genre_folded, created_at, updated_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 12);
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?)");
            let id = Uuid::now_v7();
            new_ids.insert(id);
            values.extend([
                id.into(),
                row.isrc.as_str().into(),
                row.title.as_str().into(),
                row.artist.as_str().into(),
                row.duration_seconds.and_then(|d| i32::try_from(d).ok()).into(),
                row.released_at.into(),
                row.genre.clone().into(),
                recording::fold(&row.title).into(),
                recording::fold(&row.artist).into(),
                row.genre.as_deref().map(recording::fold).into(),
                now.into(),
                now.into(),
            ]);
        }
        sql.push_str(" ON CONFLICT (isrc) DO UPDATE SET ");
        sql.push_str(UPSERT_SET);
        sql.push_str(
            " WHERE (recordings.title, recordings.artist, recordings.duration_seconds, recordings.released_at, \
             recordings.genre) IS NOT (excluded.title, excluded.artist, excluded.duration_seconds, \
             excluded.released_at, excluded.genre)",
        );
        // Rows changed (inserted or updated), then how many of them are ours: counting beats RETURNING, whose rows
        // sqlx hands over one by one from its SQLite thread.
        let changed = txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected();
        let ids: Vec<Value> = new_ids.iter().map(|id| (*id).into()).collect();
        let marks = vec!["?"; ids.len()].join(",");
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT COUNT(*) AS n FROM recordings WHERE id IN ({marks})"),
                ids,
            ))
            .await?;
        let inserted = row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0) as u32;
        created += inserted;
        updated += changed as u32 - inserted;
        new_ids.clear();
    }
    for chunk in batch.issues.chunks(1000) {
        let mut sql =
            String::from("INSERT INTO bulk_import_issues (job_id, line, col, value, reason, severity) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for (i, issue) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?)");
            values.extend([
                batch.job_id.into(),
                i64::try_from(issue.line).unwrap_or(i64::MAX).into(),
                issue.column.clone().into(),
                issue.value.as_str().into(),
                issue.reason.as_str().into(),
                issue.severity.as_str().into(),
            ]);
        }
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO bulk_import_batches (job_id, batch_no, records, accepted, rejected, warnings, created, updated) \
         VALUES (?,?,?,?,?,?,?,?)",
        vec![
            batch.job_id.into(),
            (batch.batch_no as i32).into(),
            (batch.records as i32).into(),
            (batch.accepted as i32).into(),
            (batch.rejected as i32).into(),
            (batch.warnings as i32).into(),
            (created as i32).into(),
            (updated as i32).into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    Ok(BatchOutcome::Written { created, updated })
}

/// Whether trying the same write again could succeed: a dropped or refused connection, a pool timeout, a
/// deadlock or serialization failure, a busy SQLite file.
pub fn is_transient(err: &StoreError) -> bool {
    let StoreError::Database(err) = err else { return false };
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else { return false };
    use sea_orm::sqlx::Error as E;
    match &**sqlx {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) | E::Protocol(_) => true,
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite: BUSY (5) and LOCKED (6), with their extended codes. PostgreSQL: serialization failure,
            // deadlock, connection exceptions (08…), shutdown (57P0…), too many connections.
            if db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some() {
                return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            }
            matches!(code.as_str(), "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03") || code.starts_with("08")
        }
        _ => false,
    }
}
