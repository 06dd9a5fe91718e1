//! The exact sliding-window rule: the reference model every store must match, kept as a
//! ring of the last `N` accepted times per key (O(1) a decision), and the rule stated by
//! scanning every accepted time, which the ring is tested against.

use std::{collections::VecDeque, time::Duration};

use super::Rate;
use crate::clock::{Timestamp, to_micros};

/// Whole seconds, rounded up, in `micros` microseconds (at least 1 for any positive wait).
pub fn retry_after_secs(micros: i64) -> Duration {
    let micros = u64::try_from(micros.max(0)).unwrap_or(0);
    Duration::from_secs(micros.div_ceil(1_000_000))
}

/// The accepted times of one key, the last `N` of them: the reference model of the rule,
/// and what the memory store keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// Accepted times in microseconds, oldest first; never longer than the rate's limit.
    times: VecDeque<i64>,
}

impl Window {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok(())` when a request at `now` would be accepted under `rate`, otherwise how long
    /// until it would be. O(1).
    pub fn check(&self, rate: Rate, now: Timestamp) -> Result<(), Duration> {
        self.check_micros(rate, to_micros(now))
    }

    /// [`Window::check`] with `now` in microseconds.
    pub fn check_micros(&self, rate: Rate, now: i64) -> Result<(), Duration> {
        let limit = rate.limit() as usize;
        if self.times.len() < limit {
            return Ok(());
        }
        // The N-th most recent accepted request must have left the window. (With a
        // limit lowered since the last call, more than N times are kept.)
        let oldest = self.times[self.times.len() - limit];
        let leaves_at = oldest.saturating_add(rate.period_micros());
        if leaves_at <= now {
            Ok(())
        } else {
            Err(retry_after_secs(leaves_at - now))
        }
    }

    /// Records an accepted request at `now`, keeping only the last `rate.limit()` times.
    pub fn record_micros(&mut self, rate: Rate, now: i64) {
        self.times.push_back(now);
        while self.times.len() > rate.limit() as usize {
            self.times.pop_front();
        }
    }

    /// The latest accepted time, if any.
    pub fn newest(&self) -> Option<i64> {
        self.times.back().copied()
    }

    /// Whether nothing recorded here can affect a decision at `now` or later.
    pub fn is_expired(&self, rate: Rate, now: i64) -> bool {
        self.newest()
            .is_none_or(|t| t.saturating_add(rate.period_micros()) <= now)
    }

    /// How many times are kept.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether no time is kept.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

/// The rule stated directly, by scanning every accepted time: the specification that
/// [`Window`] and every store are tested against. O(number of accepted times).
pub fn decide_by_scan(accepted: &[i64], rate: Rate, now: i64) -> Result<(), Duration> {
    let period = rate.period_micros();
    let mut in_window: Vec<i64> = accepted
        .iter()
        .copied()
        .filter(|&s| s > now.saturating_sub(period))
        .collect();
    if in_window.len() < rate.limit() as usize {
        return Ok(());
    }
    in_window.sort_unstable();
    // The request becomes acceptable once all but N-1 of them have left.
    let must_leave = in_window[in_window.len() - rate.limit() as usize];
    Err(retry_after_secs(must_leave + period - now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::RateSetting;

    fn rate(s: &str) -> Rate {
        s.parse::<RateSetting>()
            .ok()
            .and_then(|r| r.0)
            .unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn the_window_accepts_n_then_refuses_until_the_oldest_leaves() {
        let r = rate("3/minute");
        let mut w = Window::new();
        let s = 1_000_000;
        for t in [0, 10 * s, 20 * s] {
            assert_eq!(w.check_micros(r, t), Ok(()));
            w.record_micros(r, t);
        }
        assert_eq!(w.check_micros(r, 30 * s), Err(Duration::from_secs(30)));
        assert_eq!(w.check_micros(r, 59 * s + 1), Err(Duration::from_secs(1)));
        assert_eq!(w.check_micros(r, 60 * s), Ok(()));
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(1), Duration::from_secs(1));
        assert_eq!(retry_after_secs(1_000_000), Duration::from_secs(1));
        assert_eq!(retry_after_secs(1_000_001), Duration::from_secs(2));
    }

    #[test]
    fn scan_and_window_agree_on_an_example() {
        let r = rate("2/second");
        let mut w = Window::new();
        let mut accepted = Vec::new();
        for t in [
            0, 100, 200, 999_999, 1_000_000, 1_000_100, 1_500_000, 2_000_100,
        ] {
            let expect = decide_by_scan(&accepted, r, t);
            assert_eq!(w.check_micros(r, t), expect, "at {t}");
            if expect.is_ok() {
                w.record_micros(r, t);
                accepted.push(t);
            }
        }
    }
}
