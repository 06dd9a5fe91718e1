//! `ALLOWED_HOSTS`: a request whose `Host` is malformed or not allowed answers 400
//! `Invalid host header.`, before anything else looks at it (Django's rule).

use exit3_core::messages;
use poem::{Request, Response, http::StatusCode};

use crate::{errors::detail_response, options::HttpOptions};

/// An `ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: every host.
    Any,
    /// `.example.com`: the domain and its subdomains (held without the dot).
    Domain(String),
    /// An exact host name.
    Exact(String),
}

impl HostPattern {
    /// Reads one entry (trimmed, lower-cased).
    pub fn parse(entry: &str) -> Self {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            Self::Any
        } else if let Some(domain) = entry.strip_prefix('.') {
            Self::Domain(domain.to_owned())
        } else {
            Self::Exact(entry)
        }
    }

    /// Whether `host` (lower-case, without port) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(h) => h == host,
            Self::Domain(d) => {
                host == d
                    || host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }

    /// A concrete host name for this entry (for the `healthcheck` command).
    pub fn example(&self) -> &str {
        match self {
            Self::Any => "localhost",
            Self::Domain(d) | Self::Exact(d) => d,
        }
    }
}

/// The host part of a `Host` value if it is well-formed (Django's rule), lower-cased.
pub(crate) fn host_name(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        (&host[..=end], &host[end + 1..])
    } else {
        match host.rsplit_once(':') {
            Some((n, _)) => (n, &host[n.len()..]),
            None => (host.as_str(), ""),
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    (port_ok && name_ok).then(|| name.trim_end_matches('.').to_owned())
}

/// The `Host` of a request as sent (the header, or the URI's authority on HTTP/2).
pub(crate) fn raw_host(req: &Request) -> Option<String> {
    req.header("host")
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

/// The 400 of a request whose host is not allowed, if it is not.
pub(crate) fn refuse(req: &Request, options: &HttpOptions) -> Option<Response> {
    let allowed = raw_host(req)
        .as_deref()
        .and_then(host_name)
        .is_some_and(|h| options.host_allowed(&h));
    (!allowed).then(|| detail_response(StatusCode::BAD_REQUEST, messages::INVALID_HOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked_for_syntax() {
        assert_eq!(host_name("LocalHost:8000").as_deref(), Some("localhost"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("evil.com/x"), None);
        assert_eq!(host_name("a:b"), None);
        assert_eq!(host_name(""), None);
    }

    #[test]
    fn hosts_match_like_django() {
        let p = HostPattern::parse(".Example.com");
        assert!(p.matches("example.com") && p.matches("a.b.example.com"));
        assert!(!p.matches("badexample.com"));
        assert!(HostPattern::parse("*").matches("anything"));
    }
}
