//! Time, injected: nothing in the core reads the system time except [`SystemClock`].

use std::{
    fmt::Debug,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use time::OffsetDateTime;

/// A point in time, in UTC, with microsecond precision (what PostgreSQL keeps).
pub type Timestamp = OffsetDateTime;

/// A source of the current time. Shared by the service and the stores' throttles, so that
/// tests can move time instead of sleeping.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time, in UTC, truncated to whole microseconds.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    micros: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `start` (truncated to microseconds).
    pub fn new(start: Timestamp) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(to_micros(start))),
        }
    }

    /// Moves this clock, and every clone of it, forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.micros.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets this clock, and every clone of it, to `at`.
    pub fn set(&self, at: Timestamp) {
        self.micros.store(to_micros(at), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    /// A clock standing at 2025-01-01T00:00:00Z.
    fn default() -> Self {
        Self::new(time::macros::datetime!(2025-01-01 00:00 UTC))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// Microseconds since the Unix epoch.
pub fn to_micros(at: Timestamp) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// The timestamp `micros` microseconds after the Unix epoch (saturating at the range ends).
pub fn from_micros(micros: i64) -> Timestamp {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap_or(if micros < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        time::macros::datetime!(9999-12-31 23:59:59.999999 UTC)
    })
}

/// The wire form of a time, as every JSON answer and event writes it:
/// `2026-12-01T12:00:00.123456Z` (UTC, always six decimals — DRF's form).
pub fn to_rfc3339_micros(at: Timestamp) -> String {
    use std::fmt::Write as _;
    let t = at.to_offset(time::UtcOffset::UTC);
    let mut out = String::with_capacity(27);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
    out
}

/// Drops the nanoseconds below one microsecond, so that a stored time reads back equal.
pub fn truncate_to_micros(at: Timestamp) -> Timestamp {
    from_micros(to_micros(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_of_a_manual_clock_share_time() {
        let a = ManualClock::default();
        let b = a.clone();
        let before = b.now();
        a.advance(Duration::from_secs(90));
        assert_eq!(b.now() - before, time::Duration::seconds(90));
    }

    #[test]
    fn system_clock_has_microsecond_precision() {
        let now = SystemClock.now();
        assert_eq!(now.nanosecond() % 1_000, 0);
        assert_eq!(now.offset(), time::UtcOffset::UTC);
    }
}
