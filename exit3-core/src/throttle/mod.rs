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

mod key;
mod rate;
mod scope;
mod window;

pub use self::{
    key::{Counted, DEFAULT_IPV6_PREFIX, HitMode, ThrottleDecision, ThrottleHit, ThrottleKey},
    rate::{Rate, RateError, RateSetting},
    scope::{ScopeSpec, ThrottleRates, ThrottleScope},
    window::{Window, decide_by_scan, retry_after_secs},
};
