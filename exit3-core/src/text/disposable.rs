//! The disposable-domain rule: throw-away mail providers are refused, real organisations
//! never. A refused lead is a lost customer, so the built-in list is a conservative one
//! — the `disposable-email-domains` project's blocklist (CC0; the list the Python
//! Package Index uses for its own accounts), vendored in `data/` with its source — and
//! the agency adds or exempts domains in configuration (`DISPOSABLE_DOMAINS_BLOCK`,
//! `DISPOSABLE_DOMAINS_ALLOW`).

use std::{
    collections::{BTreeSet, HashSet},
    sync::LazyLock,
};

/// The vendored blocklist: one lower-case ASCII domain per line.
const BLOCKLIST: &str = include_str!("../../data/disposable_email_blocklist.conf");

/// Throw-away providers the upstream list lacks and the Django backend refused, so that
/// nothing it refused is accepted here.
const EXTRA_BLOCKED: &[&str] = &["tempmail.com"];

/// Real domains the upstream list holds all the same: never refused.
const NEVER_BLOCKED: &[&str] = &["zzz.com"];

/// The blocklist, hashed once so that a look-up costs O(labels).
static LISTED: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    BLOCKLIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .chain(EXTRA_BLOCKED.iter().copied())
        .filter(|l| !NEVER_BLOCKED.contains(l))
        .collect()
});

/// A domain in a `DISPOSABLE_DOMAINS_*` list that is not a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a domain name such as mailinator.com")]
pub struct DomainListError(pub String);

/// Which domains are disposable: the built-in list, plus `block`, minus `allow`; a
/// subdomain counts as its listed parent (`x.mailinator.com` is `mailinator.com`). The
/// most specific listed name decides, so an allowed `mail.example.net` stays allowed
/// under a blocked `example.net`, and the other way round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisposableDomains {
    block: BTreeSet<String>,
    allow: BTreeSet<String>,
}

impl DisposableDomains {
    /// The built-in list with the configured additions and exemptions. Each name is
    /// mapped as an e-mail domain is (IDNA, lower-case), so that it compares with what a
    /// parsed address holds.
    pub fn new<B: AsRef<str>, A: AsRef<str>>(
        block: impl IntoIterator<Item = B>,
        allow: impl IntoIterator<Item = A>,
    ) -> Result<Self, DomainListError> {
        let names = |list: Vec<String>| -> Result<BTreeSet<String>, DomainListError> {
            list.iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(|n| {
                    idna::domain_to_ascii_strict(n.trim_end_matches('.'))
                        .ok()
                        .filter(|d| d.contains('.'))
                        .ok_or_else(|| DomainListError(n.to_owned()))
                })
                .collect()
        };
        Ok(Self {
            block: names(block.into_iter().map(|b| b.as_ref().to_owned()).collect())?,
            allow: names(allow.into_iter().map(|a| a.as_ref().to_owned()).collect())?,
        })
    }

    /// [`DisposableDomains::new`] from the settings' comma-separated form.
    pub fn from_comma_lists(block: &str, allow: &str) -> Result<Self, DomainListError> {
        Self::new(block.split(','), allow.split(','))
    }

    /// How many domains the built-in list holds.
    pub fn builtin_len() -> usize {
        LISTED.len()
    }

    /// Whether an address at `ascii_domain` (the ASCII form of a parsed address's
    /// domain, see [`EmailAddress::ascii_domain`](super::EmailAddress::ascii_domain)) is
    /// refused.
    pub fn is_disposable(&self, ascii_domain: &str) -> bool {
        let mut rest = ascii_domain.trim_end_matches('.');
        loop {
            if self.allow.contains(rest) {
                return false;
            }
            if self.block.contains(rest) || LISTED.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throw_away_providers_and_their_subdomains_are_disposable() {
        let d = DisposableDomains::default();
        for domain in [
            "mailinator.com",
            "x.mailinator.com",
            "a.b.yopmail.com",
            "guerrillamail.com",
            "10minutemail.com",
            "tempmail.com",
        ] {
            assert!(d.is_disposable(domain), "{domain}");
        }
    }

    #[test]
    fn real_organisations_are_not() {
        let d = DisposableDomains::default();
        for domain in [
            "test.com",
            "zero.net",
            "za.com",
            "zzz.com",
            "gmail.com",
            "example.com",
            "outlook.com",
            "exitthree.example",
            "com",
        ] {
            assert!(!d.is_disposable(domain), "{domain}");
        }
        assert!(
            (1_000..20_000).contains(&DisposableDomains::builtin_len()),
            "a conservative list, not a 55,000-entry one"
        );
    }

    #[test]
    fn settings_add_and_exempt_and_the_most_specific_name_decides() {
        let d = DisposableDomains::from_comma_lists(
            " burner.example , Ｓｐａｍ.Example.org",
            "mailinator.com, ok.burner.example",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(d.is_disposable("burner.example"));
        assert!(d.is_disposable("x.burner.example"));
        assert!(!d.is_disposable("ok.burner.example"));
        assert!(d.is_disposable("spam.example.org"));
        assert!(!d.is_disposable("mailinator.com"));
        assert!(!d.is_disposable("x.mailinator.com"));
        assert!(d.is_disposable("yopmail.com"));
    }

    #[test]
    fn names_that_are_not_domains_are_refused() {
        for bad in ["com", "<b>.com", "a b.com", "[127.0.0.1]"] {
            assert_eq!(
                DisposableDomains::from_comma_lists(bad, ""),
                Err(DomainListError(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(DisposableDomains::from_comma_lists("", " , ").is_ok());
    }
}
