//! `omnisonic feeds add|list|remove|poll` and `omnisonic tagging explain`: Insight's feed sources and the
//! tagger from the command line, through the same use-cases as the web pages.

use crate::cli::{FeedsCommand, TaggingCommand};
use anyhow::{Context as _, bail};
use omnisonic_app::Context;
use omnisonic_store::entities::feed_source;
use std::time::Duration;

/// A source by id or by URL.
async fn find(ctx: &Context, key: &str) -> anyhow::Result<feed_source::Model> {
    let sources = omnisonic_store::feeds::list_sources(&ctx.db).await?;
    sources
        .into_iter()
        .find(|s| s.id.to_string() == key || s.url == key)
        .with_context(|| format!("no feed source {key:?} (see `omnisonic feeds list`)"))
}

/// Runs a `feeds` command.
pub async fn run(ctx: &Context, command: FeedsCommand) -> anyhow::Result<()> {
    match command {
        FeedsCommand::Add { url, title, interval_seconds } => {
            let interval = interval_seconds.map(Duration::from_secs);
            let source = omnisonic_app::insight::feeds::add_source(ctx, &url, title, interval, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "added {} {} (every {} s; polled within a minute by a running server)",
                source.id, source.url, source.poll_interval_seconds
            );
            Ok(())
        }
        FeedsCommand::List => {
            let sources = omnisonic_store::feeds::list_sources(&ctx.db).await?;
            if sources.is_empty() {
                println!("no feed sources (add one with `omnisonic feeds add URL`)");
            }
            for s in sources {
                let state = if !s.enabled {
                    "paused".to_owned()
                } else if s.consecutive_errors > 0 {
                    format!("{} errors: {}", s.consecutive_errors, s.last_error.as_deref().unwrap_or(""))
                } else {
                    "ok".to_owned()
                };
                println!(
                    "{} {} items={} next={} [{}] {}",
                    s.id,
                    s.url,
                    s.items_count,
                    s.next_poll_at.format("%Y-%m-%d %H:%M"),
                    state,
                    s.title.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        FeedsCommand::Remove { source } => {
            let source = find(ctx, &source).await?;
            omnisonic_app::insight::feeds::remove_source(ctx, source.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("removed {} (its items stay)", source.url);
            Ok(())
        }
        FeedsCommand::Poll { source } => {
            let sources = match source {
                Some(key) => vec![find(ctx, &key).await?],
                None => {
                    omnisonic_store::feeds::list_sources(&ctx.db).await?.into_iter().filter(|s| s.enabled).collect()
                }
            };
            let bar = indicatif::ProgressBar::new(sources.len() as u64).with_message("polling feeds");
            let mut failed = 0;
            for source in &sources {
                let report = omnisonic_app::insight::feeds::poll_source(ctx, source)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                bar.inc(1);
                let outcome = match (&report.error, report.not_modified) {
                    (Some(error), _) => {
                        failed += 1;
                        format!("failed: {error}")
                    }
                    (None, true) => "not modified".to_owned(),
                    (None, false) => format!(
                        "{} new, {} duplicates, {} refused, {} tags",
                        report.ingest.stored.len(),
                        report.ingest.duplicates,
                        report.ingest.rejected.len(),
                        report.ingest.tags
                    ),
                };
                bar.println(format!("{} {}", source.url, outcome));
            }
            bar.finish_and_clear();
            if failed > 0 {
                bail!("{failed} of {} feeds failed (each is retried later with a growing delay)", sources.len());
            }
            Ok(())
        }
    }
}

/// Runs a `tagging` command.
pub async fn run_tagging(ctx: &Context, command: TaggingCommand) -> anyhow::Result<()> {
    match command {
        TaggingCommand::Explain { text } => {
            let tagger = ctx.insight.tagger.current(&ctx.db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("dictionary: {} entities", tagger.entities());
            if let Some(embeddings) = ctx.insight.tagger.embeddings() {
                println!(
                    "embeddings: {} (entity vectors cached in the {})",
                    embeddings.model(),
                    embeddings.describe_store()
                );
            }
            let tags = ctx.insight.tagger.tag_item(&ctx.db, ctx.clock.now(), &tagger, &text, "").await;
            for line in tagger.explain(&text) {
                println!("  {line}");
            }
            if tags.is_empty() {
                println!("no tags");
            }
            for tag in tags {
                println!(
                    "TAG {} {} {:?} on {:?} at {}..{}: confidence {} ({})",
                    tag.kind.as_str(),
                    tag.entity_id,
                    tag.name,
                    tag.matched,
                    tag.start,
                    tag.end,
                    tag.confidence,
                    tag.method
                );
            }
            Ok(())
        }
    }
}
