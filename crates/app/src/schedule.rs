//! The one scheduler of periodic work. A schedule enqueues a job once per period: time is cut into periods of
//! the schedule's length since the epoch, and the first node to claim a period in the database
//! (`omnisonic_store::schedules::claim_period`) enqueues its job; every other node's claim of that period fails.
//! So with N nodes each task runs once per period, and a restart within a period does not run it again.

use crate::jobs::{self, JobKind};
use crate::maintenance::{MaintenanceJob, MaintenancePayload, Task};
use crate::{AppError, Context};
use std::time::Duration;

/// A periodic task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// What runs.
    pub task: Task,
    /// How often: once per period of this length.
    pub every: Duration,
}

/// Today's schedules: the upload cleanup and the license expiry daily, the sign-in session sweep hourly, and a
/// look for due feeds every minute (each source has its own interval; this is how late a due poll may start).
pub const SCHEDULES: [Schedule; 4] = [
    Schedule { task: Task::UploadCleanup, every: Duration::from_secs(24 * 3600) },
    Schedule { task: Task::LicenseExpiry, every: Duration::from_secs(24 * 3600) },
    Schedule { task: Task::SessionSweep, every: Duration::from_secs(3600) },
    Schedule { task: Task::FeedPoll, every: Duration::from_secs(60) },
];

/// How often the scheduler looks at its schedules (a period starts at most this late).
pub const LOOK_EVERY: Duration = Duration::from_secs(30);

impl Schedule {
    /// The period `now_ms` (epoch milliseconds) falls in.
    pub fn period_at(&self, now_ms: i64) -> i64 {
        let every = i64::try_from(self.every.as_millis()).unwrap_or(i64::MAX).max(1);
        now_ms.div_euclid(every)
    }
}

/// Enqueues `schedule`'s job for the period of `now_ms` if no node has yet; `true` when this call did.
pub async fn tick(ctx: &Context, schedule: &Schedule, now_ms: i64) -> Result<bool, AppError> {
    let name = schedule.task.name();
    let period = schedule.period_at(now_ms);
    if !omnisonic_store::schedules::claim_period(&ctx.db, name, period, now_ms).await? {
        return Ok(false);
    }
    let payload = MaintenancePayload { task: schedule.task, period };
    if let Err(err) = jobs::enqueue::<MaintenanceJob>(&*ctx.queue, &payload).await {
        // Give the period back, so the next look (here or on another node) tries again.
        omnisonic_store::schedules::release_period(&ctx.db, name, period).await?;
        return Err(AppError::Unavailable { what: "the job queue".to_owned(), source: Box::new(err) });
    }
    tracing::info!(task = name, period, queue = MaintenanceJob::QUEUE, "scheduled");
    Ok(true)
}

/// Looks at `schedules` every [`LOOK_EVERY`] until `stop` turns true; a schedule whose current period is already
/// settled costs no query.
pub async fn run_scheduler(ctx: Context, schedules: Vec<Schedule>, mut stop: tokio::sync::watch::Receiver<bool>) {
    // The last period each schedule was settled for here (claimed by this node or by another): the database is
    // asked again only when a new period begins, not on every look.
    let mut settled: Vec<Option<i64>> = vec![None; schedules.len()];
    loop {
        let now_ms = ctx.clock.now().timestamp_millis();
        for (schedule, settled) in schedules.iter().zip(settled.iter_mut()) {
            let period = schedule.period_at(now_ms);
            if *settled == Some(period) {
                continue;
            }
            match tick(&ctx, schedule, now_ms).await {
                Ok(_) => *settled = Some(period),
                Err(err) => tracing::warn!(
                    task = schedule.task.name(),
                    error = &err as &dyn std::error::Error,
                    "could not schedule"
                ),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_cut_time_from_the_epoch() {
        let hourly = Schedule { task: Task::SessionSweep, every: Duration::from_secs(3600) };
        assert_eq!(hourly.period_at(0), 0);
        assert_eq!(hourly.period_at(3_599_999), 0);
        assert_eq!(hourly.period_at(3_600_000), 1);
        assert_eq!(hourly.period_at(-1), -1);
    }
}
