//! What a request asks of the throttle: its keys (a scope and who is counted), the hits
//! on them, and the store's decision.

use std::{fmt, net::IpAddr, time::Duration};

use ipnet::{IpNet, Ipv6Net};

use super::{Rate, ThrottleScope};

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
    /// A staff username, folded to lower case (the login throttle).
    Username(String),
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
            Self::Username(name) => write!(f, "user:{name}"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
