//! Sign-in attempt limits that mean what the documentation says: "five attempts per account per 15 minutes" is
//! at most five attempts in any 15-minute window.
//!
//! A token bucket (GCRA) with a burst of five refills one attempt every three minutes, which allowed nine or ten
//! attempts in 15 minutes. This keeps a log of the last attempts' times per key instead (at most `limit` of them),
//! and admits an attempt while fewer than `limit` fall inside the window.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Distinct keys the log may hold before keys without an attempt inside the window are dropped; above it even
/// then, the oldest keys go (bounds memory under an address spray).
const MAX_KEYS: usize = 100_000;

/// A keyed sliding-window limiter kept in this process.
pub(crate) struct SlidingWindow<K> {
    limit: usize,
    window: Duration,
    log: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Clone> SlidingWindow<K> {
    /// At most `limit` (at least 1) attempts per key in any `window`.
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self { limit: usize::try_from(limit.max(1)).unwrap_or(usize::MAX), window, log: Mutex::default() }
    }

    /// Counts an attempt for `key` now: `Ok` when admitted, else how long until the oldest attempt leaves the
    /// window.
    pub(crate) fn admit(&self, key: &K) -> Result<(), Duration> {
        self.admit_at(key, Instant::now())
    }

    fn admit_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() >= MAX_KEYS && !log.contains_key(key) {
            self.forget_idle(&mut log, now);
        }
        let times = log.entry(key.clone()).or_default();
        while times.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() < self.limit {
            times.push_back(now);
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        Err(self.window.saturating_sub(now.saturating_duration_since(oldest)).max(Duration::from_secs(1)))
    }

    /// Drops keys with no attempt inside the window; if that is not enough, the half whose last attempt is oldest.
    fn forget_idle(&self, log: &mut HashMap<K, VecDeque<Instant>>, now: Instant) {
        log.retain(|_, times| times.back().is_some_and(|t| now.saturating_duration_since(*t) < self.window));
        if log.len() >= MAX_KEYS {
            let mut last: Vec<Instant> = log.values().filter_map(|t| t.back().copied()).collect();
            last.sort_unstable();
            let cutoff = last[last.len() / 2];
            log.retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_window_means_five_in_any_window() {
        let window = Duration::from_secs(15 * 60);
        let limiter = SlidingWindow::new(5, window);
        let start = Instant::now();
        // One attempt a minute for 15 minutes: a token bucket refilling every 3 minutes admitted about ten.
        let admitted = (0..15).filter(|m| limiter.admit_at(&"a", start + Duration::from_secs(60 * m)).is_ok()).count();
        assert_eq!(admitted, 5);
        let wait = limiter.admit_at(&"a", start + Duration::from_secs(14 * 60)).expect_err("limited");
        assert_eq!(wait, Duration::from_secs(60), "the first attempt leaves the window at 15:00");
        assert!(limiter.admit_at(&"a", start + window).is_ok(), "then one more is admitted");
        assert!(limiter.admit_at(&"b", start).is_ok(), "keys are separate");
    }

    #[test]
    fn keys_stay_bounded() {
        let limiter = SlidingWindow::new(1, Duration::from_secs(60));
        let now = Instant::now();
        for n in 0..(MAX_KEYS + 10) {
            let _ = limiter.admit_at(&n, now + Duration::from_micros(n as u64));
        }
        assert!(limiter.log.lock().expect("lock").len() <= MAX_KEYS);
    }
}
