//! What Slack's answer to an incoming-webhook post means for the sender
//! (<https://api.slack.com/messaging/webhooks#handling_errors>): delivered, failed for good, the webhook is gone
//! (disable the channel and tell its owner), or try again (after `Retry-After` when Slack gives one).

use std::time::Duration;

/// Slack's answer, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackAnswer {
    /// 200 `ok`.
    Delivered,
    /// The message was refused and sending it again will not help (400 `invalid_payload`, 403
    /// `action_prohibited`, …): the reason Slack gave.
    Failed(String),
    /// The webhook no longer exists (404 `no_service`, `channel_not_found`; 410 `channel_is_archived`): disable
    /// the channel.
    Gone(String),
    /// Rate limited (429): wait for `Retry-After` when Slack sent one.
    RetryAfter(Option<Duration>),
    /// Slack failed (5xx) or answered something unexpected: retry with backoff.
    Retry(String),
}

/// Classifies an answer: its status, its `Retry-After` (already read as a duration), and its body (Slack's
/// reason, a short word such as `no_service`).
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> SlackAnswer {
    // Reasons are short words; anything longer is not Slack's and is cut for the delivery history.
    let reason: String = body.trim().chars().take(200).collect();
    let reason_or = |fallback: &str| if reason.is_empty() { format!("{fallback} ({status})") } else { reason.clone() };
    match status {
        200..=299 => SlackAnswer::Delivered,
        404 | 410 => SlackAnswer::Gone(reason_or("the webhook no longer exists")),
        429 => SlackAnswer::RetryAfter(retry_after),
        400..=499 => SlackAnswer::Failed(reason_or("refused")),
        _ => SlackAnswer::Retry(reason_or("Slack failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_answers_are_classified_as_its_documentation_says() {
        assert_eq!(classify(200, None, "ok"), SlackAnswer::Delivered);
        assert_eq!(classify(400, None, "invalid_payload"), SlackAnswer::Failed("invalid_payload".into()));
        assert_eq!(classify(403, None, "action_prohibited"), SlackAnswer::Failed("action_prohibited".into()));
        assert_eq!(classify(404, None, "no_service"), SlackAnswer::Gone("no_service".into()));
        assert_eq!(classify(404, None, "channel_not_found"), SlackAnswer::Gone("channel_not_found".into()));
        assert_eq!(classify(410, None, "channel_is_archived"), SlackAnswer::Gone("channel_is_archived".into()));
        let wait = Some(Duration::from_secs(30));
        assert_eq!(classify(429, wait, "rate_limited"), SlackAnswer::RetryAfter(wait));
        assert_eq!(classify(429, None, ""), SlackAnswer::RetryAfter(None));
        assert_eq!(classify(500, None, "rollup_error"), SlackAnswer::Retry("rollup_error".into()));
        assert_eq!(classify(503, None, ""), SlackAnswer::Retry("Slack failed (503)".into()));
        assert_eq!(classify(301, None, ""), SlackAnswer::Retry("Slack failed (301)".into()));
        let long = "x".repeat(10_000);
        assert!(matches!(classify(400, None, &long), SlackAnswer::Failed(r) if r.len() == 200));
    }
}
