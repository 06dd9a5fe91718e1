//! `ALLOWED_HOSTS` entries and Django's matching rule.

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
