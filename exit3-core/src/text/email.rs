//! The one e-mail parse of the contract (§3 "E-mail addresses"), used by every e-mail
//! field: lead and subscriber addresses, unsubscribe requests, look-ups.
//!
//! A browser maps a domain with IDNA (UTS #46) before it looks it up, so the server does
//! too: `x@ｍａｉｌｉｎａｔｏｒ.com` is `x@mailinator.com`, and is judged as such. The
//! checks run on the mapped form, and the length is counted on what is stored — so that
//! a value that grows in the mapping (`İ` becomes two characters) is refused here, with
//! the contract's message, and never reaches the database's limits.

use std::{borrow::Cow, fmt};

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use validator::ValidateEmail;

use super::{char_len, has_markup, is_refused_char};
use crate::messages;

/// The longest e-mail address accepted, in characters of its stored form (RFC 5321's
/// path limit).
pub const EMAIL_MAX: usize = 254;

/// Why a value is not an acceptable e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Not an address: syntax, a domain IDNA cannot map, a domain literal, markup or
    /// control characters.
    #[error("Enter a valid email address.")]
    Invalid,
    /// Longer than [`EMAIL_MAX`] characters (before or after the mapping).
    #[error("Ensure this field has no more than 254 characters.")]
    TooLong,
    /// At a disposable-mail provider (see [`DisposableDomains`](super::DisposableDomains)).
    #[error("Disposable email addresses are not allowed.")]
    Disposable,
}

impl EmailError {
    /// The contract's field message.
    pub fn message(self) -> String {
        match self {
            Self::Invalid => messages::EMAIL.to_owned(),
            Self::TooLong => messages::too_long(EMAIL_MAX),
            Self::Disposable => messages::DISPOSABLE.to_owned(),
        }
    }
}

/// An e-mail address that passed the contract's parse: the local part as given (ASCII,
/// by the HTML5 rule browsers apply) and the domain mapped by IDNA, lower-case, in
/// Unicode; at most [`EMAIL_MAX`] characters. Only [`EmailAddress::parse`] makes one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    /// `local@domain`, the stored form.
    address: String,
    /// Where the `@` is in `address`.
    at: usize,
    /// The domain's ASCII (punycode) form: what the disposable rule and a mail server see.
    ascii_domain: String,
}

impl EmailAddress {
    /// Parses an address, in the contract's order: trim; NFC; split at the last `@`; map
    /// the domain with IDNA (UTS #46 with the STD3 rules and DNS lengths: full-width
    /// letters and ideographic full stops become ASCII, upper case lower case); refuse
    /// domain literals, markup and control characters; check the syntax (the HTML5
    /// rule, through `validator`) and the length after the mapping.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        // Bounds the work below for any input (the mapping never shortens a domain
        // below what a valid address needs).
        if char_len(trimmed) > EMAIL_MAX * 4 {
            return Err(EmailError::TooLong);
        }
        let text: Cow<'_, str> = if is_nfc_quick(trimmed.chars()) == IsNormalized::Yes {
            Cow::Borrowed(trimmed)
        } else {
            Cow::Owned(trimmed.nfc().collect())
        };
        if text.chars().any(is_refused_char) || has_markup(&text) {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || domain.is_empty() || domain.contains(['[', ']']) {
            return Err(EmailError::Invalid);
        }
        let ascii_domain = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Invalid)?;
        let (unicode_domain, mapped) = idna::domain_to_unicode(&ascii_domain);
        mapped.map_err(|_| EmailError::Invalid)?;
        let address = format!("{local}@{unicode_domain}");
        if char_len(&address) > EMAIL_MAX {
            return Err(EmailError::TooLong);
        }
        if !format!("{local}@{ascii_domain}").validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            at: local.len(),
            address,
            ascii_domain,
        })
    }

    /// The same address wholly lower-cased: how subscribers are stored and compared.
    /// (The local part is ASCII, so the length does not change.)
    pub fn to_lowercase(&self) -> Self {
        Self {
            address: self.address.to_lowercase(),
            at: self.at,
            ascii_domain: self.ascii_domain.clone(),
        }
    }

    /// The stored form, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, as given.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The mapped domain, lower-case, in Unicode (`bücher.example`).
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// The domain's ASCII form (`xn--bcher-kva.example`).
    pub fn ascii_domain(&self) -> &str {
        &self.ascii_domain
    }

    /// The stored form, owned.
    pub fn into_string(self) -> String {
        self.address
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.address).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> Result<String, EmailError> {
        EmailAddress::parse(raw).map(EmailAddress::into_string)
    }

    #[test]
    fn the_domain_is_mapped_and_the_local_part_kept() {
        assert_eq!(
            parsed(" Jane.Doe@Example.COM "),
            Ok("Jane.Doe@example.com".into())
        );
        assert_eq!(
            parsed("Ada@ＥＸＡＭＰＬＥ.com"),
            Ok("Ada@example.com".into())
        );
        assert_eq!(
            parsed("x@ｍａｉｌｉｎａｔｏｒ.com"),
            Ok("x@mailinator.com".into())
        );
        assert_eq!(parsed("a@example。com"), Ok("a@example.com".into()));
        let idn = EmailAddress::parse("kim@Bücher.Example").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(idn.as_str(), "kim@bücher.example");
        assert_eq!(idn.ascii_domain(), "xn--bcher-kva.example");
        assert_eq!((idn.local_part(), idn.domain()), ("kim", "bücher.example"));
        assert_eq!(
            parsed("kim@xn--bcher-kva.example"),
            Ok("kim@bücher.example".into())
        );
    }

    #[test]
    fn literals_markup_and_control_characters_are_refused() {
        for bad in [
            "a@<img/src/onerror=alert(1)>[127.0.0.1]",
            "a@[127.0.0.1]",
            "a@[IPv6:::1]",
            "<b>@example.com",
            "a@exa<mple.com",
            "a@example.com\u{0}",
            "a\u{202E}@example.com",
            "a@exam\u{200B}ple.com",
            "javascript:alert(1)@example.com",
            "plainaddress",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@b@c.com",
            "a@-example.com",
            "a@exa_mple.com",
            "ä@example.com",
        ] {
            assert_eq!(parsed(bad), Err(EmailError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn length_is_counted_after_the_mapping() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(parsed(&long), Err(EmailError::TooLong));
        // `İ` maps to two characters: 240 of them grow past every limit, and answer the
        // contract's error instead of reaching the database's CHECK.
        let growing = format!("a@{}.com", "İ".repeat(240));
        assert!(parsed(&growing).is_err());
        let huge = format!("a@{}.com", "x".repeat(60_000));
        assert_eq!(parsed(&huge), Err(EmailError::TooLong));
        let label = "a".repeat(60);
        let fits = format!("{}@{label}.{label}.{label}.com", "b".repeat(60));
        assert_eq!(parsed(&fits).map(|a| a.chars().count()), Ok(247));
    }

    #[test]
    fn lower_casing_keeps_the_length() {
        let a = EmailAddress::parse("Ada.L@Example.com").unwrap_or_else(|e| panic!("{e}"));
        let lower = a.to_lowercase();
        assert_eq!(lower.as_str(), "ada.l@example.com");
        assert_eq!(lower.local_part(), "ada.l");
        assert_eq!(char_len(lower.as_str()), char_len(a.as_str()));
    }

    proptest::proptest! {
        /// Whatever the input, the parse answers (never panics), and what it accepts is
        /// within the stored limits, free of markup and control characters, and parses
        /// again to itself.
        #[test]
        fn accepted_addresses_are_stable_and_within_limits(
            raw in "[a-zA-Z0-9.+_<>\\[\\]@İıßＡ-Ｚ。\u{202E}\u{200B} -]{0,40}"
        ) {
            if let Ok(a) = EmailAddress::parse(&raw) {
                proptest::prop_assert!(char_len(a.as_str()) <= EMAIL_MAX);
                proptest::prop_assert!(!has_markup(a.as_str()));
                proptest::prop_assert!(!a.as_str().chars().any(is_refused_char));
                proptest::prop_assert!(a.ascii_domain().is_ascii());
                proptest::prop_assert_eq!(EmailAddress::parse(a.as_str()), Ok(a.clone()));
                proptest::prop_assert_eq!(
                    char_len(a.to_lowercase().as_str()),
                    char_len(a.as_str())
                );
            }
        }
    }
}
