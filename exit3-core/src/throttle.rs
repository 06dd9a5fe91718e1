//! Throttling (§6 of the contract): rates, scopes, and the exact sliding-window rule.
//!
//! The rule: a rate `N/period` never lets more than `N` requests of one key be accepted
//! in any window of length `period`, and refuses a request only when `N` were accepted in
//! the window before it. An accepted request at `s` lies in the window of a request at
//! `t` while `s > t - period`, i.e. it leaves the window at `s + period`.
//!
//! A request is therefore accepted exactly when fewer than `N` requests were accepted, or
//! when the `N`-th most recent accepted one has left the window. [`Window`] keeps the last
//! `N` accepted times of one key in a ring and decides in O(1), whatever `N` is.

use std::{collections::VecDeque, fmt, net::IpAddr, str::FromStr, time::Duration};

use ipnet::{IpNet, Ipv6Net};

use crate::clock::{Timestamp, to_micros};

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
    /// `h`, `d`); `off` (any case) turns the scope off.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        let bad = || RateError(s.to_owned());
        let (n, period) = s.split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let seconds = match period.trim().chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86400,
            _ => return Err(bad()),
        };
        Rate::new(limit, Duration::from_secs(seconds))
            .map(|r| Self(Some(r)))
            .ok_or_else(bad)
    }
}

/// The throttle scopes of the contract. Everything else about a scope — its name, its
/// setting, its default rate — is data in one table ([`ThrottleScope::spec`]), so a new
/// scope is one variant and one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleScope {
    /// Every API request not made with the admin key.
    General,
    /// `POST leads/`.
    LeadCreate,
    /// `POST newsletter/` and `POST newsletter/unsubscribe/`.
    Subscribe,
    /// Every request made with the admin key, instead of `General`.
    Admin,
    /// Requests that presented a key that is not valid, per client address; once full,
    /// every request from that address is refused until the window frees.
    FailedAuth,
}

/// What configuration and observability know about a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeSpec {
    /// The scope's name, as in keys, logs and metrics.
    pub name: &'static str,
    /// The setting that holds its rate.
    pub setting: &'static str,
    /// Its rate when the setting is unset, in the settings' syntax.
    pub default: &'static str,
    /// What it counts, for documentation.
    pub counts: &'static str,
}

impl ThrottleScope {
    /// Every scope.
    pub const ALL: [Self; 5] = [
        Self::General,
        Self::LeadCreate,
        Self::Subscribe,
        Self::Admin,
        Self::FailedAuth,
    ];

    /// The scope's row of the table.
    pub const fn spec(self) -> ScopeSpec {
        const fn row(
            name: &'static str,
            setting: &'static str,
            default: &'static str,
            counts: &'static str,
        ) -> ScopeSpec {
            ScopeSpec {
                name,
                setting,
                default,
                counts,
            }
        }
        match self {
            Self::General => row(
                "general",
                "THROTTLE_GENERAL",
                "100/hour",
                "every API request not made with the admin key, per client address",
            ),
            Self::LeadCreate => row(
                "lead_create",
                "THROTTLE_LEAD_CREATE",
                "10/hour",
                "POST leads/, per client address",
            ),
            Self::Subscribe => row(
                "subscribe",
                "THROTTLE_SUBSCRIBE",
                "10/hour",
                "POST newsletter/ and newsletter/unsubscribe/, per client address",
            ),
            Self::Admin => row(
                "admin",
                "THROTTLE_ADMIN",
                "10000/hour",
                "admin-key requests, per key (instead of the general rate)",
            ),
            Self::FailedAuth => row(
                "failed_auth",
                "THROTTLE_FAILED_AUTH",
                "30/minute",
                "requests with a key that is not valid, per client address; beyond it \
                 every request from that address is refused until the window frees",
            ),
        }
    }

    /// The scope's name, as in keys, logs and metrics.
    pub const fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// The scope's default rate.
    pub fn default_rate(self) -> Option<Rate> {
        self.spec()
            .default
            .parse::<RateSetting>()
            .ok()
            .and_then(|r| r.0)
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The rate of every scope; `None` turns a scope off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRates([Option<Rate>; ThrottleScope::ALL.len()]);

impl Default for ThrottleRates {
    /// Every scope at its default rate (the contract's).
    fn default() -> Self {
        Self(ThrottleScope::ALL.map(ThrottleScope::default_rate))
    }
}

impl ThrottleRates {
    /// Every scope off.
    pub fn off() -> Self {
        Self([None; ThrottleScope::ALL.len()])
    }

    /// The rate of `scope`.
    pub fn get(&self, scope: ThrottleScope) -> Option<Rate> {
        self.0[scope.index()]
    }

    /// Sets the rate of `scope` (`None`: off).
    pub fn set(&mut self, scope: ThrottleScope, rate: Option<Rate>) {
        self.0[scope.index()] = rate;
    }

    /// These rates with `scope` at `rate`.
    pub fn with(mut self, scope: ThrottleScope, rate: Option<Rate>) -> Self {
        self.set(scope, rate);
        self
    }
}

/// The longest IPv6 prefix a client is keyed by: a /64 is one subscriber line, so by
/// default its 2^64 addresses count as one client (`THROTTLE_IPV6_PREFIX`).
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// Who a throttle key counts: an API key (by fingerprint) or a client (by address;
/// IPv6 by its network prefix, IPv4-mapped IPv6 as IPv4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Counted {
    /// The fingerprint of an admin key.
    Key(String),
    /// A client address, already cut to its prefix.
    Client(IpNet),
    /// A request whose address the frontend does not know.
    UnknownClient,
}

impl Counted {
    /// The client at `ip`, IPv6 addresses cut to `ipv6_prefix` bits (32–128; other
    /// values are clamped into that range).
    pub fn client(ip: Option<IpAddr>, ipv6_prefix: u8) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            None => Self::UnknownClient,
            Some(IpAddr::V4(v4)) => Self::Client(IpNet::from(IpAddr::V4(v4))),
            Some(IpAddr::V6(v6)) => {
                let prefix = ipv6_prefix.clamp(32, 128);
                Self::Client(
                    Ipv6Net::new(v6, prefix)
                        .map(|n| IpNet::V6(n.trunc()))
                        .unwrap_or_else(|_| IpNet::from(IpAddr::V6(v6))),
                )
            }
        }
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(fingerprint) => write!(f, "key:{fingerprint}"),
            // A single address is written without its /32 or /128.
            Self::Client(net) if net.prefix_len() == net.max_prefix_len() => {
                write!(f, "ip:{}", net.addr())
            }
            Self::Client(net) => write!(f, "ip:{net}"),
            Self::UnknownClient => f.write_str("ip:unknown"),
        }
    }
}

/// A throttle key: a scope and who it counts, e.g. `lead_create:ip:203.0.113.9` or
/// `general:ip:2001:db8:1:2::/64`. Stores keep it as its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    scope: ThrottleScope,
    text: String,
}

impl ThrottleKey {
    /// The key of `counted` in `scope`.
    pub fn new(scope: ThrottleScope, counted: &Counted) -> Self {
        Self {
            scope,
            text: format!("{}:{counted}", scope.as_str()),
        }
    }

    /// A key with free-form text (tests and benches of stores).
    pub fn custom(scope: ThrottleScope, text: impl Into<String>) -> Self {
        Self {
            scope,
            text: text.into(),
        }
    }

    /// The scope it belongs to.
    pub fn scope(&self) -> ThrottleScope {
        self.scope
    }

    /// Its text, as stores keep it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether a hit is counted when the request is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HitMode {
    /// Decide, and record the request when every hit accepts (the usual).
    #[default]
    Record,
    /// Decide only: refuse when the key's window is full, never record. (A valid key
    /// from an address that failed too often is refused, but not counted as a failure.)
    CheckOnly,
}

/// One scope's part of a request: count a hit on `key` under `rate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleHit {
    /// The scope and who is counted.
    pub key: ThrottleKey,
    /// The scope's rate.
    pub rate: Rate,
    /// Recorded on acceptance, or only checked.
    pub mode: HitMode,
}

impl ThrottleHit {
    /// A hit that is recorded when the request is accepted.
    pub fn new(key: ThrottleKey, rate: Rate) -> Self {
        Self {
            key,
            rate,
            mode: HitMode::Record,
        }
    }

    /// A hit that is only checked.
    pub fn check_only(key: ThrottleKey, rate: Rate) -> Self {
        Self {
            key,
            rate,
            mode: HitMode::CheckOnly,
        }
    }

    /// The scope the hit belongs to.
    pub fn scope(&self) -> ThrottleScope {
        self.key.scope()
    }

    /// Whether an accepted request is recorded in this hit's key.
    pub fn records(&self) -> bool {
        self.mode == HitMode::Record
    }
}

/// What a store decided for all the scopes of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    /// Every scope accepted; the request was recorded in each.
    Accepted,
    /// At least one scope refused; nothing was recorded anywhere.
    Refused {
        /// The longest wait among the refusing scopes, whole seconds rounded up.
        retry_after: Duration,
        /// The index, in the call's hits, of the refusing hit with that wait (the first
        /// of equals): what frontends report as the refusing scope.
        hit: usize,
    },
}

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
        let limit = rate.limit as usize;
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
        while self.times.len() > rate.limit as usize {
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
    if in_window.len() < rate.limit as usize {
        return Ok(());
    }
    in_window.sort_unstable();
    // The request becomes acceptable once all but N-1 of them have left.
    let must_leave = in_window[in_window.len() - rate.limit as usize];
    Err(retry_after_secs(must_leave + period - now))
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
        for bad in ["", "10", "x/hour", "0/hour", "10/week", "-1/s", "10/"] {
            assert!(bad.parse::<RateSetting>().is_err(), "{bad}");
        }
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
    fn defaults_come_from_the_scope_table() {
        let rates = ThrottleRates::default();
        assert_eq!(rates.get(ThrottleScope::General), Some(rate("100/hour")));
        assert_eq!(rates.get(ThrottleScope::Admin), Some(rate("10000/hour")));
        assert_eq!(
            rates.get(ThrottleScope::FailedAuth),
            Some(rate("30/minute"))
        );
        for scope in ThrottleScope::ALL {
            assert!(scope.default_rate().is_some(), "{scope:?}");
            assert!(scope.spec().setting.starts_with("THROTTLE_"));
        }
        let off = ThrottleRates::off().with(ThrottleScope::Subscribe, Some(rate("1/s")));
        assert_eq!(off.get(ThrottleScope::Subscribe), Some(rate("1/s")));
        assert_eq!(off.get(ThrottleScope::General), None);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_prefix_and_mapped_ipv4_as_ipv4() {
        let key = |ip: &str, prefix| Counted::client(ip.parse().ok(), prefix).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::9", 64), "ip:2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1", 64), key("2001:db8:1:2::1", 64));
        assert_eq!(key("2001:db8:1:2::1", 128), "ip:2001:db8:1:2::1");
        assert_eq!(key("2001:db8:1:2::1", 48), "ip:2001:db8:1::/48");
        assert_eq!(key("::ffff:192.0.2.7", 64), "ip:192.0.2.7");
        assert_eq!(key("192.0.2.7", 64), "ip:192.0.2.7");
        assert_eq!(Counted::client(None, 64).to_string(), "ip:unknown");
        assert_eq!(
            ThrottleKey::new(ThrottleScope::LeadCreate, &Counted::Key("ab12".into())).as_str(),
            "lead_create:key:ab12"
        );
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
