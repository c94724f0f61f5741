//! Feed sources and polling.
//!
//! A poll is a conditional GET (`If-None-Match`, `If-Modified-Since`) through the guarded outbound client:
//! `304` means nothing new. The next poll is due after the source's interval, or later when the server asks
//! (`Retry-After`, `Cache-Control: max-age`, `Expires`), capped at [`MAX_DELAY`]. A failure (an error status,
//! a timeout, a body over the cap, a redirect loop, a document that is not a feed) counts against the source:
//! the delay doubles with each failure in a row up to [`MAX_DELAY`], and the source keeps being polled — it is
//! never given up on; its error count and last error show on the sources page.

use std::time::Duration;

use chrono::{DateTime, Utc};
use omnisonic_platform::OutboundError;
use omnisonic_store::entities::feed_source;
use omnisonic_store::feeds::{self, NewSource, PollOutcome};
use serde::Serialize;
use url::Url;
use uuid::Uuid;

use super::ingest::{self, IngestReport};
use crate::{AppError, Context};
use omnisonic_news::parse;

/// The longest delay between polls, whatever the backoff or the server asks.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);
/// The shortest poll interval a source may have.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);
/// The default poll interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(900);
/// How long a poller holds a claimed source before another may take it (a crashed poller's sources come back).
const CLAIM_LEASE: Duration = Duration::from_secs(300);
/// Sources polled per scheduled run at most; the rest wait for the next run.
const SOURCES_PER_RUN: u64 = 50;

/// Settings of polling (`FEED_*`).
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// `FEED_MAX_BYTES`: bodies larger than this fail the poll.
    pub max_bytes: u64,
    /// `FEED_POLL_INTERVAL_SECONDS`: the interval of new sources.
    pub default_interval: Duration,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self { max_bytes: 10 * 1024 * 1024, default_interval: DEFAULT_INTERVAL }
    }
}

/// Adds a source after checking its URL (http(s), not an internal address).
pub async fn add_source(
    ctx: &Context,
    url: &str,
    title: Option<String>,
    interval: Option<Duration>,
    created_by: Option<Uuid>,
) -> Result<feed_source::Model, AppError> {
    let url = check_url(ctx, url).await?;
    let interval = interval.unwrap_or(ctx.insight.feeds.default_interval);
    check_interval(interval)?;
    let title = title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if title.as_ref().is_some_and(|t| t.chars().count() > 500) {
        return Err(AppError::invalid("title", "is longer than 500 characters"));
    }
    let new = NewSource {
        url: url.to_string(),
        title,
        poll_interval_seconds: i32::try_from(interval.as_secs()).unwrap_or(i32::MAX),
        created_by,
    };
    Ok(feeds::create_source(&ctx.db, new, ctx.clock.now()).await?)
}

/// Parses and checks a feed URL: http(s) only, at most 2,048 bytes, and not (resolving to) an internal address.
pub async fn check_url(ctx: &Context, url: &str) -> Result<Url, AppError> {
    let url = url.trim();
    if url.len() > 2_048 {
        return Err(AppError::invalid("url", "is longer than 2048 bytes"));
    }
    let parsed = Url::parse(url).map_err(|e| AppError::invalid("url", format!("is not a URL: {e}")))?;
    ctx.insight.outbound.guard().check_url(&parsed).await.map_err(|e| AppError::invalid("url", e.to_string()))?;
    Ok(parsed)
}

fn check_interval(interval: Duration) -> Result<(), AppError> {
    if interval < MIN_INTERVAL || interval > MAX_DELAY {
        return Err(AppError::invalid(
            "pollIntervalSeconds",
            format!("must be between {} and {} seconds", MIN_INTERVAL.as_secs(), MAX_DELAY.as_secs()),
        ));
    }
    Ok(())
}

/// Changes a source's title, enabled flag or interval.
pub async fn update_source(
    ctx: &Context,
    id: Uuid,
    title: Option<String>,
    enabled: Option<bool>,
    interval: Option<Duration>,
) -> Result<feed_source::Model, AppError> {
    if let Some(interval) = interval {
        check_interval(interval)?;
    }
    let interval = interval.map(|i| i32::try_from(i.as_secs()).unwrap_or(i32::MAX));
    Ok(feeds::update_source(&ctx.db, id, title, enabled, interval, ctx.clock.now()).await?)
}

/// Removes a source; its items stay.
pub async fn remove_source(ctx: &Context, id: Uuid) -> Result<(), AppError> {
    if feeds::delete_source(&ctx.db, id).await? { Ok(()) } else { Err(AppError::NotFound(format!("feed source {id}"))) }
}

/// What one poll did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PollReport {
    /// The source.
    pub source_id: Uuid,
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    /// The server said nothing changed (304).
    pub not_modified: bool,
    /// Items stored, duplicates skipped, items refused.
    pub ingest: IngestReport,
    /// Why the poll failed, if it did.
    pub error: Option<String>,
    /// When the source is next due.
    pub next_poll_at: DateTime<Utc>,
}

/// Polls every due source (each claimed first, so two nodes never poll one source at once).
pub async fn poll_due(ctx: &Context) -> Result<Vec<PollReport>, AppError> {
    let now = ctx.clock.now();
    let due = feeds::due_sources(&ctx.db, now, SOURCES_PER_RUN).await?;
    let mut reports = Vec::with_capacity(due.len());
    for source in due {
        let lease = now + chrono::Duration::from_std(CLAIM_LEASE).unwrap_or_default();
        if !feeds::claim_source(&ctx.db, source.id, source.next_poll_at, lease).await? {
            continue;
        }
        reports.push(poll_source(ctx, &source).await?);
    }
    Ok(reports)
}

/// Polls one source now, whatever its schedule, and records the outcome.
pub async fn poll_source(ctx: &Context, source: &feed_source::Model) -> Result<PollReport, AppError> {
    let fetched = fetch(ctx, source).await;
    let now = ctx.clock.now();
    let interval = Duration::from_secs(u64::try_from(source.poll_interval_seconds).unwrap_or(900));
    let (report, outcome) = match fetched {
        Fetched::NotModified { status, server_delay } => {
            let next = next_poll(now, interval, 0, server_delay);
            let outcome = PollOutcome {
                status: Some(i32::from(status)),
                result: Ok(0),
                validators: None,
                title: None,
                next_poll_at: next,
            };
            (
                PollReport {
                    source_id: source.id,
                    status: Some(status),
                    not_modified: true,
                    ingest: IngestReport::default(),
                    error: None,
                    next_poll_at: next,
                },
                outcome,
            )
        }
        Fetched::Body { status, body, content_type, etag, last_modified, server_delay } => {
            let (text, _) = parse::decode(&body, content_type.as_deref());
            match parse::parse_feed(&text) {
                Ok(feed) => {
                    let ingest = ingest::ingest(ctx, Some(source.id), &feed.items).await?;
                    let next = next_poll(now, interval, 0, server_delay);
                    let outcome = PollOutcome {
                        status: Some(i32::from(status)),
                        result: Ok(i64::try_from(ingest.stored.len()).unwrap_or(0)),
                        validators: Some((etag, last_modified)),
                        title: feed.title,
                        next_poll_at: next,
                    };
                    (
                        PollReport {
                            source_id: source.id,
                            status: Some(status),
                            not_modified: false,
                            ingest,
                            error: None,
                            next_poll_at: next,
                        },
                        outcome,
                    )
                }
                Err(error) => failure(source, now, interval, Some(status), error, None),
            }
        }
        Fetched::Failed { status, error, server_delay } => failure(source, now, interval, status, error, server_delay),
    };
    feeds::record_poll(&ctx.db, source.id, outcome, now).await?;
    if let Some(error) = &report.error {
        tracing::warn!(source = %source.id, url = %source.url, error = %error, errors_in_a_row = source.consecutive_errors + 1, "feed poll failed");
    }
    Ok(report)
}

fn failure(
    source: &feed_source::Model,
    now: DateTime<Utc>,
    interval: Duration,
    status: Option<u16>,
    error: String,
    server_delay: Option<Duration>,
) -> (PollReport, PollOutcome) {
    let errors = u32::try_from(source.consecutive_errors).unwrap_or(0) + 1;
    let next = next_poll(now, interval, errors, server_delay);
    let outcome = PollOutcome {
        status: status.map(i32::from),
        result: Err(error.clone()),
        validators: None,
        title: None,
        next_poll_at: next,
    };
    (
        PollReport {
            source_id: source.id,
            status,
            not_modified: false,
            ingest: IngestReport::default(),
            error: Some(error),
            next_poll_at: next,
        },
        outcome,
    )
}

/// When to poll next: the interval doubled per failure in a row, at least what the server asked, at most
/// [`MAX_DELAY`].
pub fn next_poll(
    now: DateTime<Utc>,
    interval: Duration,
    errors_in_a_row: u32,
    server_delay: Option<Duration>,
) -> DateTime<Utc> {
    let backoff = interval.saturating_mul(2u32.saturating_pow(errors_in_a_row.min(20)));
    let delay = backoff.max(server_delay.unwrap_or_default()).min(MAX_DELAY);
    now + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(24))
}

/// A fetch's result.
enum Fetched {
    NotModified {
        status: u16,
        server_delay: Option<Duration>,
    },
    Body {
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        server_delay: Option<Duration>,
    },
    Failed {
        status: Option<u16>,
        error: String,
        server_delay: Option<Duration>,
    },
}

async fn fetch(ctx: &Context, source: &feed_source::Model) -> Fetched {
    let url = match Url::parse(&source.url) {
        Ok(url) => url,
        Err(e) => return Fetched::Failed { status: None, error: format!("bad URL: {e}"), server_delay: None },
    };
    let mut headers = vec![(
        "accept",
        "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
            .to_owned(),
    )];
    if let Some(etag) = &source.etag {
        headers.push(("if-none-match", etag.clone()));
    }
    if let Some(modified) = &source.last_modified {
        headers.push(("if-modified-since", modified.clone()));
    }
    let outbound = &ctx.insight.outbound;
    let response = match outbound.get_with(&url, &headers).await {
        Ok(response) => response,
        Err(error) => return Fetched::Failed { status: None, error: describe(&error), server_delay: None },
    };
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let server_delay = retry_after(header("retry-after").as_deref(), ctx.clock.now())
        .or_else(|| cache_delay(header("cache-control").as_deref(), header("expires").as_deref(), ctx.clock.now()));
    if status == 304 {
        return Fetched::NotModified { status, server_delay };
    }
    if !(200..300).contains(&status) {
        let reason = response.status().canonical_reason().unwrap_or("error");
        return Fetched::Failed { status: Some(status), error: format!("HTTP {status} {reason}"), server_delay };
    }
    let (content_type, etag, last_modified) = (header("content-type"), header("etag"), header("last-modified"));
    match outbound.read_capped(response, ctx.insight.feeds.max_bytes).await {
        Ok(body) => Fetched::Body { status, body, content_type, etag, last_modified, server_delay },
        Err(error) => Fetched::Failed { status: Some(status), error: describe(&error), server_delay },
    }
}

fn describe(error: &OutboundError) -> String {
    match error {
        OutboundError::Timeout => "timed out".to_owned(),
        other => other.to_string(),
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(value: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

/// How long the response says it stays fresh (`Cache-Control: max-age`, else `Expires`).
fn cache_delay(cache_control: Option<&str>, expires: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(max_age) = cache_control.and_then(|cc| {
        cc.split(',').find_map(|d| d.trim().strip_prefix("max-age=").and_then(|v| v.trim().parse::<u64>().ok()))
    }) {
        return Some(Duration::from_secs(max_age));
    }
    let at = DateTime::parse_from_rfc2822(expires?.trim()).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps_at_a_day_but_never_stops() {
        let now = Utc::now();
        let interval = Duration::from_secs(900);
        let delay = |errors, server| (next_poll(now, interval, errors, server) - now).num_seconds();
        assert_eq!(delay(0, None), 900);
        assert_eq!(delay(1, None), 1_800);
        assert_eq!(delay(3, None), 7_200);
        assert_eq!(delay(10, None), 86_400);
        assert_eq!(delay(1_000, None), 86_400);
        assert_eq!(delay(0, Some(Duration::from_secs(3_600))), 3_600);
        assert_eq!(delay(0, Some(Duration::from_secs(10 * 86_400))), 86_400);
    }

    #[test]
    fn reads_retry_after_and_cache_headers() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").expect("time").with_timezone(&Utc);
        assert_eq!(retry_after(Some("120"), now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(Some("Thu, 03 Dec 2026 13:00:00 GMT"), now), Some(Duration::from_secs(3_600)));
        assert_eq!(retry_after(Some("soon"), now), None);
        assert_eq!(cache_delay(Some("public, max-age=1800"), None, now), Some(Duration::from_secs(1_800)));
        assert_eq!(cache_delay(None, Some("Thu, 03 Dec 2026 12:30:00 GMT"), now), Some(Duration::from_secs(1_800)));
    }
}
