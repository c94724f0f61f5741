//! `omnisonic import FILE`: the bulk import pipeline on a local file, with a progress bar and a summary.

use crate::settings::Settings;
use anyhow::{Context, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use omnisonic_app::bulk_import::pipeline::Progress;
use omnisonic_domain::bulk_import::Format;
use omnisonic_store::DatabaseConnection;
use omnisonic_store::bulk_imports::{self as store, NewJob};
use omnisonic_store::entities::bulk_import_job::Model as Job;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What an import did, as printed at the end.
pub struct Summary {
    job: Job,
    elapsed: Duration,
    first_issues: Vec<String>,
    report: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let j = &self.job;
        let secs = self.elapsed.as_secs_f64().max(0.001);
        let unchanged = j.accepted_records - j.created_records - j.updated_records;
        writeln!(
            f,
            "{} records in {:.1} s ({:.0} records/s): {} accepted ({} new, {} changed, {} already as in the file), \
             {} rejected, {} warnings",
            j.processed_records,
            secs,
            j.processed_records as f64 / secs,
            j.accepted_records,
            j.created_records,
            j.updated_records,
            unchanged.max(0),
            j.rejected_records,
            j.warning_records
        )?;
        for issue in &self.first_issues {
            writeln!(f, "  {issue}")?;
        }
        let more = j.rejected_records + j.warning_records - self.first_issues.len() as i64;
        match &self.report {
            Some(path) => write!(f, "every finding is in {path} (job {})", j.id),
            None if more > 0 => write!(f, "… and {more} more: add --errors FILE for the full report (job {})", j.id),
            None => write!(f, "job {}", j.id),
        }
    }
}

/// Imports `path` into the catalogue; fails (non-zero exit) when the file cannot be imported at all.
pub async fn import_file(
    db: &DatabaseConnection,
    path: &Path,
    format: Option<&str>,
    settings: &Settings,
    errors_out: Option<&Path>,
) -> anyhow::Result<Summary> {
    let format = match format {
        Some(f) => {
            Format::parse(&f.to_ascii_lowercase()).with_context(|| format!("--format {f:?}: use csv or jsonl"))?
        }
        None => match Format::from_file_name(&path.to_string_lossy()) {
            Some(format) => format,
            None => {
                bail!("cannot tell the format of {} from its name: add --format csv or --format jsonl", path.display())
            }
        },
    };
    let stdin = path.as_os_str() == "-";
    let (input, size): (Box<dyn std::io::Read + Send>, u64) = if stdin {
        (Box::new(std::io::stdin()), 0)
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(file), size)
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "stdin".to_owned());
    let job = store::create_job(
        db,
        &NewJob {
            id: Uuid::now_v7(),
            user_id: None,
            format,
            file_name: omnisonic_domain::upload::display_name(&name),
            // For people only (the column holds 255 characters): the end of a long path is the telling part.
            file_key: {
                let key = format!("file:{}", path.display());
                let skip = key.chars().count().saturating_sub(255);
                key.chars().skip(skip).collect()
            },
            file_size: i64::try_from(size).unwrap_or(i64::MAX),
            batch_size: i32::try_from(settings.bulk_import.bulk_import_batch_size).unwrap_or(100),
            total_records: 0,
        },
    )
    .await?;
    let job = store::start(db, job.id).await?;

    let bar = if size > 0 { ProgressBar::new(size) } else { ProgressBar::new_spinner() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let started = Instant::now();
    let on_progress = {
        let bar = bar.clone();
        move |p: Progress| {
            bar.set_position(p.bytes_read);
            let rate = p.totals.processed as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{} records, {} rejected, {rate:.0}/s", p.totals.processed, p.totals.rejected));
        }
    };
    let result =
        omnisonic_app::bulk_import::worker::run_job(db, None, &job, input, settings.import_tuning(), on_progress).await;
    bar.finish_and_clear();
    let finished = match result {
        Ok(finished) => finished,
        Err(err) => {
            // No queue will retry a command-line import: record why it stopped.
            let _ = store::fail(db, job.id, &err.to_string()).await;
            return Err(err).with_context(|| format!("import {}", path.display()));
        }
    };
    if finished.status == store::Status::Failed.as_str() {
        bail!("{}: {}", path.display(), finished.failure.as_deref().unwrap_or("the import failed"));
    }
    let first = store::issues_after(db, finished.id, (0, 0), 5).await?;
    let first_issues = first
        .into_iter()
        .map(|(_, i)| {
            let column = i.column.map(|c| format!(" {c}")).unwrap_or_default();
            format!("line {}{column}: {} ({})", i.line, i.reason, i.severity)
        })
        .collect();
    let report = match errors_out {
        Some(out) => {
            write_report(db, finished.id, out).await?;
            Some(out.display().to_string())
        }
        None => None,
    };
    Ok(Summary { job: finished, elapsed: started.elapsed(), first_issues, report })
}

async fn write_report(db: &DatabaseConnection, job_id: Uuid, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    let mut file = std::io::BufWriter::new(file);
    let mut stream = std::pin::pin!(omnisonic_app::bulk_import::report::report_stream(db.clone(), job_id));
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?).with_context(|| format!("write {}", out.display()))?;
    }
    file.flush().with_context(|| format!("write {}", out.display()))?;
    Ok(())
}
