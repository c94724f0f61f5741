//! `omnisonic jobs list|retry`: what the queues hold, and putting a buried job back.

use crate::cli::JobsCommand;
use anyhow::{Context as _, bail};
use omnisonic_app::jobs::QUEUES;
use omnisonic_platform::{JobQueue, JobState};

fn queues(only: Option<&str>) -> anyhow::Result<Vec<&'static str>> {
    match only {
        None => Ok(QUEUES.to_vec()),
        Some(name) => match QUEUES.iter().find(|q| **q == name) {
            Some(queue) => Ok(vec![*queue]),
            None => bail!("--queue {name:?}: no such queue (one of {})", QUEUES.join(", ")),
        },
    }
}

fn state(name: &str) -> anyhow::Result<JobState> {
    JobState::ALL.into_iter().find(|s| s.as_str() == name).with_context(|| {
        let all: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
        format!("--state {name:?}: no such state (one of {})", all.join(", "))
    })
}

/// Runs a `jobs` command against `queue`.
pub async fn run(queue: &dyn JobQueue, command: JobsCommand) -> anyhow::Result<()> {
    match command {
        JobsCommand::List { queue: only, state: wanted, limit } => {
            let wanted = wanted.as_deref().map(state).transpose()?;
            let names = queues(only.as_deref())?;
            println!(
                "{:<14} {:>7} {:>8} {:>7} {:>7}   ({} queue)",
                "QUEUE",
                "QUEUED",
                "RUNNING",
                "FAILED",
                "BURIED",
                queue.describe()
            );
            for name in &names {
                let counts = queue.counts(name).await.with_context(|| format!("count the {name} queue"))?;
                println!(
                    "{name:<14} {:>7} {:>8} {:>7} {:>7}",
                    counts.queued, counts.running, counts.failed, counts.buried
                );
            }
            for name in &names {
                let jobs = queue.inspect(name, limit).await.with_context(|| format!("list the {name} queue"))?;
                for job in jobs.iter().filter(|j| wanted.is_none_or(|w| j.state == w)) {
                    let error = job.last_error.as_deref().unwrap_or("");
                    println!("{} {name} {} attempts={} {error}", job.id, job.state.as_str(), job.attempts);
                }
            }
            Ok(())
        }
        JobsCommand::Retry { id, queue: only } => {
            for name in queues(only.as_deref())? {
                if queue.revive(name, &id).await.with_context(|| format!("revive in the {name} queue"))? {
                    println!("job {id} is queued again on {name}");
                    return Ok(());
                }
            }
            bail!("no buried job {id} (only buried jobs can be retried; see `omnisonic jobs list --state buried`)")
        }
    }
}
