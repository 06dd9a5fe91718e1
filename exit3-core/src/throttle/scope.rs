//! The throttle scopes as data: one table says each scope's name, setting and default,
//! and [`ThrottleRates`] holds a rate per scope.

use super::{Rate, RateSetting};

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
    /// Failed staff sign-ins, per username (admin.md).
    LoginUser,
    /// Failed staff sign-ins, per client address.
    LoginClient,
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
    pub const ALL: [Self; 7] = [
        Self::General,
        Self::LeadCreate,
        Self::Subscribe,
        Self::Admin,
        Self::FailedAuth,
        Self::LoginUser,
        Self::LoginClient,
    ];

    /// Whether some request checks this scope without being counted in it: every
    /// request with a valid key checks its address's `failed_auth`, so that a locked-out
    /// address cannot learn that a guess was right, and every sign-in checks the login
    /// scopes, which count failures only. Stores that cache "nothing recorded" keep it
    /// for these scopes.
    pub fn is_checked_without_recording(self) -> bool {
        matches!(self, Self::FailedAuth | Self::LoginUser | Self::LoginClient)
    }

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
            Self::LoginUser => row(
                "login_user",
                "THROTTLE_LOGIN_USER",
                "5/15minute",
                "failed staff sign-ins, per username; beyond it the sign-in form answers 429",
            ),
            Self::LoginClient => row(
                "login_client",
                "THROTTLE_LOGIN_CLIENT",
                "20/hour",
                "failed staff sign-ins, per client address; beyond it the form answers 429",
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
}
