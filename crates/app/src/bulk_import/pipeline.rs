//! The import pipeline: file → records → validated batches → ordered writes, in four stages.
//!
//! 1. **Read** (one blocking thread): split the byte stream into records ([`CsvRecords`] / [`JsonRecords`]) and
//!    group them into batches of `batch_size`. The file is never whole in memory: the stages are joined by
//!    bounded channels, so the reader waits while the writers are behind.
//! 2. **Validate** (`validators` blocking tasks at once, results kept in file order): each record becomes a
//!    recording or a list of findings.
//! 3. **Sequence** (in file order): a later row with an ISRC seen before replaces it and gets a warning; its
//!    batch must then be written after the earlier one's, which is recorded as a dependency. Batches whose
//!    receipts exist (a resumed run) are marked to skip; the reading still rebuilds the set of seen ISRCs.
//! 4. **Write** (`concurrency` batches in flight): [`BatchWriter::write`], each batch after every batch it
//!    depends on (so a later row of an ISRC is always written after the earlier one, and a batch with a receipt
//!    implies receipts for the batches it depends on), transient database errors retried with backoff.

use futures::StreamExt;
use omnisonic_domain::bulk_import::{Columns, Format, HeaderError, Issue, Severity, isrc_key, json_record};
use omnisonic_domain::catalogue::NewRecording;
use omnisonic_domain::records::{CsvRecords, JsonRecords, RawRecord, RecordSource};
use omnisonic_store::bulk_imports::{self, BatchOutcome, BatchWrite, BatchWriter, Totals};
use omnisonic_store::{DatabaseConnection, StoreError};
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Records per batch (`BULK_IMPORT_BATCH_SIZE`); fixed per job.
    pub batch_size: usize,
    /// Batches written at once (`BULK_IMPORT_CONCURRENCY`).
    pub concurrency: usize,
    /// Batches validated at once.
    pub validators: usize,
    /// Attempts per batch write on transient errors before the job itself fails (and the queue retries it).
    pub write_attempts: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self { batch_size: 100, concurrency: 10, validators: 2, write_attempts: 8 }
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be imported at all (no usable header, not text): retrying will not help.
    #[error("{0}")]
    Unusable(String),
    /// Reading the file failed (storage or network); a retry may succeed.
    #[error("reading the file failed: {0}")]
    Read(String),
    /// The database failed past the write retries.
    #[error("writing to the database failed: {0}")]
    Database(#[from] StoreError),
}

/// What the import has done so far, for progress reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Counts so far (written batches only).
    pub totals: Totals,
    /// Bytes of the file read.
    pub bytes_read: u64,
}

struct RawBatch {
    index: u32,
    columns: Option<Arc<Columns>>,
    records: Vec<RawRecord>,
}

struct ValidRow {
    line: u64,
    key: u64,
    recording: NewRecording,
}

struct ValidBatch {
    index: u32,
    records: u32,
    rows: Vec<ValidRow>,
    issues: Vec<Issue>,
}

struct Planned {
    write: BatchWrite,
    /// Every earlier batch holding an ISRC of this one: all are written before it.
    after: Vec<u32>,
    skip: bool,
}

/// Imports `input` (the whole file, from its first byte) as job `job_id`, skipping batches already written.
/// `on_progress` is called after every batch written; returns the final counts (earlier runs' included).
pub async fn run(
    db: &DatabaseConnection,
    job_id: Uuid,
    format: Format,
    input: Box<dyn Read + Send>,
    tuning: Tuning,
    mut on_progress: impl FnMut(Progress),
) -> Result<Totals, ImportError> {
    let batch_size = tuning.batch_size.clamp(1, omnisonic_domain::bulk_import::MAX_BATCH_SIZE);
    let (done, mut totals) = bulk_imports::committed(db, job_id).await?;
    let done: HashSet<u32> = done.into_iter().collect();
    let bytes_read = Arc::new(AtomicU64::new(0));

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RawBatch, ImportError>>(tuning.validators.max(1) * 2);
    let reader = {
        let bytes_read = bytes_read.clone();
        tokio::task::spawn_blocking(move || read_batches(format, input, batch_size, &tx, &bytes_read))
    };

    let validated = tokio_stream_from(rx)
        .map(|raw| async move {
            let raw = raw?;
            tokio::task::spawn_blocking(move || validate(raw))
                .await
                .map_err(|e| ImportError::Read(format!("validation stopped: {e}")))
        })
        .buffered(tuning.validators.max(1));

    // Eight bytes of key and eight of value per distinct ISRC: a million of them fit in about 32 MiB.
    let mut seen: HashMap<u64, (u32, u32)> = HashMap::new();
    let planned = validated.map(move |batch| batch.map(|batch| plan(batch, job_id, &mut seen, &done)));

    let committed = Committed::default();
    let writer = BatchWriter::new(db, u32::try_from(tuning.concurrency).unwrap_or(10));
    // Boxed, not pinned on the stack: dropping it must drop the channel's receiver, or a reader blocked on a
    // full channel would wait forever after a failed write.
    let mut writes = Box::pin(
        planned
            .map(|planned| {
                let (committed, writer) = (committed.clone(), writer.clone());
                async move {
                    let planned = planned?;
                    write(&writer, planned, &committed, tuning.write_attempts).await
                }
            })
            .buffer_unordered(tuning.concurrency.max(1)),
    );
    let mut outcome = Ok(());
    while let Some(result) = writes.next().await {
        match result {
            Ok(Some(batch)) => {
                totals.add(&batch);
                on_progress(Progress { totals, bytes_read: bytes_read.load(Ordering::Relaxed) });
            }
            Ok(None) => {}
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    drop(writes);
    // The reader ends when its channel closes; its own error (if any) was sent down the pipeline.
    let _ = reader.await;
    outcome.map(|()| totals)
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Stage 1, on a blocking thread: records in batches down `tx`.
fn read_batches(
    format: Format,
    input: Box<dyn Read + Send>,
    batch_size: usize,
    tx: &tokio::sync::mpsc::Sender<Result<RawBatch, ImportError>>,
    bytes_read: &AtomicU64,
) {
    let input = BufReader::with_capacity(256 * 1024, input);
    let fail = |err: ImportError| {
        let _ = tx.blocking_send(Err(err));
    };
    match format {
        Format::Csv => {
            let mut records = CsvRecords::new(input);
            let columns = match records.next_record() {
                Err(err) => return fail(ImportError::Read(err.to_string())),
                Ok(None) => return fail(ImportError::Unusable(HeaderError::Empty.to_string())),
                Ok(Some(header @ RawRecord::Fields { .. })) => match Columns::from_header(header.fields()) {
                    Ok(columns) => Arc::new(columns),
                    Err(err) => return fail(ImportError::Unusable(err.to_string())),
                },
                Ok(Some(_)) => return fail(ImportError::Unusable("the header line cannot be read as CSV".into())),
            };
            records.set_width(columns.width());
            send_batches(&mut records, Some(columns), batch_size, tx, bytes_read);
        }
        Format::Jsonl => send_batches(&mut JsonRecords::new(input), None, batch_size, tx, bytes_read),
    }
}

/// Cuts `records` into batches of `batch_size` and sends them; stops early when the pipeline has gone.
fn send_batches(
    records: &mut impl RecordSource,
    columns: Option<Arc<Columns>>,
    batch_size: usize,
    tx: &tokio::sync::mpsc::Sender<Result<RawBatch, ImportError>>,
    bytes_read: &AtomicU64,
) {
    let mut index = 0u32;
    let mut batch = Vec::with_capacity(batch_size);
    loop {
        let next = records.next_record();
        bytes_read.store(records.consumed(), Ordering::Relaxed);
        let last = match next {
            Err(err) => {
                let _ = tx.blocking_send(Err(ImportError::Read(err.to_string())));
                return;
            }
            Ok(Some(record)) => {
                batch.push(record);
                false
            }
            Ok(None) => true,
        };
        if batch.len() == batch_size || (last && !batch.is_empty()) {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
            if tx.blocking_send(Ok(RawBatch { index, columns: columns.clone(), records: full })).is_err() {
                return;
            }
            index += 1;
        }
        if last {
            return;
        }
    }
}

/// Stage 2: every record of a batch validated.
fn validate(raw: RawBatch) -> ValidBatch {
    let mut rows = Vec::with_capacity(raw.records.len());
    let mut issues = Vec::new();
    let records = raw.records.len() as u32;
    for record in raw.records {
        let line = record.line();
        let result = match (&record, &raw.columns) {
            (RawRecord::Fields { .. }, Some(columns)) => columns.record(line, &record.fields()),
            (RawRecord::Json { bytes, .. }, _) => json_record(line, bytes),
            (RawRecord::Broken { excerpt, reason, .. }, _) => {
                Err(vec![Issue::error(line, None, excerpt, reason.clone())])
            }
            (RawRecord::Fields { .. }, None) => Err(vec![Issue::error(line, None, b"", "no header")]),
        };
        match result {
            Ok(recording) => rows.push(ValidRow { line, key: isrc_key(&recording.isrc), recording }),
            Err(found) => issues.extend(found),
        }
    }
    ValidBatch { index: raw.index, records, rows, issues }
}

/// Stage 3: duplicates across the file, dependencies between batches, and what is already written.
fn plan(batch: ValidBatch, job_id: Uuid, seen: &mut HashMap<u64, (u32, u32)>, done: &HashSet<u32>) -> Planned {
    let ValidBatch { index, records, rows, mut issues } = batch;
    let accepted = rows.len() as u32;
    let mut after: Vec<u32> = Vec::new();
    let mut warnings = 0u32;
    for row in &rows {
        let line = u32::try_from(row.line).unwrap_or(u32::MAX);
        if let Some((earlier_batch, earlier_line)) = seen.insert(row.key, (index, line)) {
            warnings += 1;
            issues.push(Issue {
                line: row.line,
                column: Some("isrc".to_owned()),
                value: row.recording.isrc.as_str().to_owned(),
                reason: format!("this ISRC is also on line {earlier_line}; this later row replaces it"),
                severity: Severity::Warning,
            });
            if earlier_batch != index {
                after.push(earlier_batch);
            }
        }
    }
    after.sort_unstable();
    after.dedup();
    // Within the batch, the last row of an ISRC is the one written.
    let mut last: HashSet<u64> = HashSet::with_capacity(rows.len());
    let mut unique: Vec<NewRecording> =
        rows.into_iter().rev().filter(|row| last.insert(row.key)).map(|row| row.recording).collect();
    unique.sort_unstable_by(|a, b| a.isrc.as_str().cmp(b.isrc.as_str()));
    issues.sort_by_key(|i| i.line);
    Planned {
        write: BatchWrite {
            job_id,
            batch_no: index,
            records,
            accepted,
            rejected: records - accepted,
            warnings,
            rows: unique,
            issues,
        },
        after,
        skip: done.contains(&index),
    }
}

/// Which batches are written, for batches that must wait for an earlier one.
#[derive(Clone)]
struct Committed {
    written: Arc<Mutex<HashSet<u32>>>,
    changed: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for Committed {
    fn default() -> Self {
        Self { written: Default::default(), changed: Arc::new(tokio::sync::watch::channel(0).0) }
    }
}

impl Committed {
    fn mark(&self, batch: u32) {
        self.written.lock().unwrap_or_else(|e| e.into_inner()).insert(batch);
        self.changed.send_modify(|n| *n += 1);
    }

    fn contains(&self, batch: u32) -> bool {
        self.written.lock().unwrap_or_else(|e| e.into_inner()).contains(&batch)
    }

    async fn wait_for(&self, batch: u32) {
        let mut changes = self.changed.subscribe();
        while !self.contains(batch) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Stage 4: one batch, after its dependencies, retried on transient errors. `None` when it was already written.
async fn write(
    writer: &BatchWriter,
    planned: Planned,
    committed: &Committed,
    attempts: u32,
) -> Result<Option<Totals>, ImportError> {
    let Planned { write, after, skip } = planned;
    if skip {
        committed.mark(write.batch_no);
        return Ok(None);
    }
    for earlier in after {
        committed.wait_for(earlier).await;
    }
    let mut delay = Duration::from_millis(50);
    let mut attempt = 1;
    let outcome = loop {
        match writer.write(&write).await {
            Ok(outcome) => break outcome,
            Err(err) if attempt < attempts && bulk_imports::is_transient(&err) => {
                tracing::warn!(error = %err, batch = write.batch_no, attempt, "batch write failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(err) => return Err(err.into()),
        }
    };
    committed.mark(write.batch_no);
    Ok(match outcome {
        BatchOutcome::AlreadyWritten => None,
        BatchOutcome::Written { created, updated } => Some(Totals {
            processed: i64::from(write.records),
            accepted: i64::from(write.accepted),
            rejected: i64::from(write.rejected),
            warnings: i64::from(write.warnings),
            created: i64::from(created),
            updated: i64::from(updated),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnisonic_domain::Isrc;

    fn row(line: u64, isrc: &str, title: &str) -> ValidRow {
        let isrc = Isrc::parse(isrc).expect("isrc");
        ValidRow {
            line,
            key: isrc_key(&isrc),
            recording: NewRecording {
                isrc,
                title: title.to_owned(),
                artist: "a".to_owned(),
                duration_seconds: None,
                released_at: None,
                genre: None,
            },
        }
    }

    fn batch(index: u32, rows: Vec<ValidRow>) -> ValidBatch {
        ValidBatch { index, records: rows.len() as u32, rows, issues: Vec::new() }
    }

    #[test]
    fn a_batch_waits_for_every_earlier_batch_it_shares_an_isrc_with() {
        let mut seen = HashMap::new();
        let done = HashSet::new();
        let job = Uuid::nil();
        let first =
            plan(batch(0, vec![row(2, "AAAAA0000001", "A v1"), row(3, "XXXXX0000001", "X")]), job, &mut seen, &done);
        let second =
            plan(batch(1, vec![row(4, "BBBBB0000001", "B v1"), row(5, "YYYYY0000001", "Y")]), job, &mut seen, &done);
        let third =
            plan(batch(2, vec![row(6, "AAAAA0000001", "A v2"), row(7, "BBBBB0000001", "B v2")]), job, &mut seen, &done);
        assert!(first.after.is_empty() && second.after.is_empty());
        assert_eq!(third.after, vec![0, 1], "not only the latest earlier batch");
        assert_eq!(third.write.warnings, 2);
        assert!(third.write.issues.iter().all(|i| i.severity == Severity::Warning));
        assert_eq!(third.write.issues[0].reason, "this ISRC is also on line 2; this later row replaces it");
    }

    #[test]
    fn within_a_batch_the_last_row_of_an_isrc_is_written_and_rows_are_in_isrc_order() {
        let mut seen = HashMap::new();
        let planned = plan(
            batch(
                0,
                vec![row(2, "ZZZZZ0000001", "Z"), row(3, "AAAAA0000001", "first"), row(4, "AAAAA0000001", "second")],
            ),
            Uuid::nil(),
            &mut seen,
            &HashSet::from([0]),
        );
        assert!(planned.skip, "a batch with a receipt is skipped");
        assert_eq!(planned.write.accepted, 3);
        let written: Vec<(&str, &str)> =
            planned.write.rows.iter().map(|r| (r.isrc.as_str(), r.title.as_str())).collect();
        assert_eq!(written, [("AAAAA0000001", "second"), ("ZZZZZ0000001", "Z")]);
    }
}
