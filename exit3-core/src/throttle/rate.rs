//! Rates: `N/period`, DRF's syntax (`10/hour`, `off`).

use std::{fmt, str::FromStr, time::Duration};

/// A rate `N/period`: at most `limit` accepted requests in any window of `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    limit: u32,
    period: Duration,
}

impl Rate {
    /// `limit` requests per `period`; both must be non-zero.
    pub fn new(limit: u32, period: Duration) -> Option<Self> {
        (limit > 0 && !period.is_zero()).then_some(Self { limit, period })
    }

    /// The most requests accepted in one window.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// The window's length.
    pub fn period(self) -> Duration {
        self.period
    }

    /// The period in microseconds (how stores keep times).
    pub fn period_micros(self) -> i64 {
        i64::try_from(self.period.as_micros()).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            86400 => "day",
            s => return write!(f, "{}/{s}s", self.limit),
        };
        write!(f, "{}/{unit}", self.limit)
    }
}

/// A rate setting as written in configuration: `N/period` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateSetting(pub Option<Rate>);

/// A rate setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate {0:?}: expected N/second, N/minute, N/hour or N/day with N > 0, or off")]
pub struct RateError(pub String);

impl FromStr for RateSetting {
    type Err = RateError;

    /// DRF's syntax: `N/period` where only the period's first letter counts (`s`, `m`,
    /// `h`, `d`), optionally with a count of periods before it (`5/15minute`, the login
    /// throttle's); `off` (any case) turns the scope off.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        let bad = || RateError(s.to_owned());
        let (n, period) = s.split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let unit_at = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let count: u64 = match &period[..unit_at] {
            "" => 1,
            digits => digits.parse().map_err(|_| bad())?,
        };
        let seconds: u64 = match period[unit_at..].chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86400,
            _ => return Err(bad()),
        };
        Rate::new(limit, Duration::from_secs(seconds.saturating_mul(count)))
            .map(|r| Self(Some(r)))
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Rate {
        s.parse::<RateSetting>()
            .ok()
            .and_then(|r| r.0)
            .unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn rates_use_drf_syntax() {
        assert_eq!(rate("10/hour"), rate("10/h"));
        assert_eq!(rate("5/m").period(), Duration::from_secs(60));
        assert_eq!(rate("1/day").to_string(), "1/day");
        assert_eq!("OFF".parse::<RateSetting>(), Ok(RateSetting(None)));
        assert_eq!(rate("5/15minute").period(), Duration::from_secs(900));
        assert_eq!(rate("5/15m").to_string(), "5/900s");
        for bad in [
            "", "10", "x/hour", "0/hour", "10/week", "-1/s", "10/", "5/0m", "5/15", "5/x15m",
        ] {
            assert!(bad.parse::<RateSetting>().is_err(), "{bad}");
        }
    }
}
