//! The string rules shared by every text field of the contract (§3): trimming, NFC,
//! control characters, HTML markup, lengths in characters, e-mail addresses, phone numbers.

use std::{collections::HashSet, sync::LazyLock};

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use validator::ValidateEmail;

/// Message for a value that contains HTML markup or a `javascript:` URL.
pub const MSG_HTML: &str = "HTML markup is not allowed.";
/// Message for a value with control characters.
pub const MSG_CONTROL: &str = "Control characters are not allowed.";
/// Message for a malformed e-mail address.
pub const MSG_EMAIL: &str = "Enter a valid email address.";
/// Message for an address at a disposable-mail provider.
pub const MSG_DISPOSABLE: &str = "Disposable email addresses are not allowed.";
/// Message for a phone number with characters other than digits, spaces and `+ - ( ) .`.
pub const MSG_PHONE: &str = "Phone number may contain only digits, spaces and + - ( ) .";

/// The longest e-mail address accepted, in characters (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;

/// Domains refused on top of the maintained list: those the Django backend refused, so
/// that nothing it refused is accepted here.
const EXTRA_DISPOSABLE: &[&str] = &[
    "10minutemail.com",
    "dispostable.com",
    "getnada.com",
    "guerrillamail.com",
    "mailinator.com",
    "maildrop.cc",
    "sharklasers.com",
    "temp-mail.org",
    "tempmail.com",
    "throwawaymail.com",
    "trashmail.com",
    "yopmail.com",
];

/// The disposable-domain set: `mailchecker`'s maintained list (tens of thousands of
/// domains) plus [`EXTRA_DISPOSABLE`], hashed once so a look-up costs O(labels).
static DISPOSABLE: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    mailchecker::blacklist()
        .into_iter()
        .chain(EXTRA_DISPOSABLE.iter().copied())
        .collect()
});

/// Trims, normalises to NFC and refuses control characters (`multiline` allows tab and
/// line breaks, for `message`). Returns the cleaned text or the field message.
pub fn clean(raw: &str, multiline: bool) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    // Most text (all ASCII, most of the rest) passes the quick check and is already
    // NFC: copying it is a fifth of the cost of normalising it.
    let text: String = if is_nfc_quick(trimmed.chars()) == IsNormalized::Yes {
        trimmed.to_owned()
    } else {
        trimmed.nfc().collect()
    };
    let allowed = |c: char| multiline && matches!(c, '\t' | '\n' | '\r');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(MSG_CONTROL);
    }
    Ok(text)
}

/// Whether `text` holds HTML markup: a `<` directly followed by a letter, `/`, `!` or
/// `?`, or a `javascript:` URL (also when the browser would strip tabs and line breaks
/// inside the scheme, or white space before the colon). A lone `<` in prose is fine.
pub fn has_markup(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<'
            && chars
                .peek()
                .is_some_and(|&n| n.is_alphabetic() || matches!(n, '/' | '!' | '?'))
        {
            return true;
        }
    }
    has_javascript_url(text)
}

fn has_javascript_url(text: &str) -> bool {
    const SCHEME: &str = "javascript";
    // No colon, no URL scheme (no character lower-cases to one).
    if !text.contains(':') {
        return false;
    }
    let folded: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .flat_map(char::to_lowercase)
        .collect();
    let scheme: Vec<char> = SCHEME.chars().collect();
    folded.windows(scheme.len()).enumerate().any(|(i, w)| {
        w == scheme.as_slice()
            && folded[i + scheme.len()..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(|&c| c == ':')
    })
}

/// Length in characters (Unicode scalar values), as Python counts `len(str)`.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// The message for a value longer than `max` characters.
pub fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

/// Parses an already cleaned e-mail address: at most [`EMAIL_MAX`] characters, valid by
/// the `validator` crate's rules (HTML5/RFC 5322 subset, IDN domains), domain lower-cased,
/// not at a disposable-mail domain or any subdomain of one.
pub fn parse_email(text: &str) -> Result<String, String> {
    let address = parse_email_syntax(text)?;
    let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
    if is_disposable_domain(domain) {
        return Err(MSG_DISPOSABLE.to_owned());
    }
    Ok(address)
}

/// [`parse_email`] without the disposable-domain rule: for look-ups such as unsubscribe,
/// where refusing an address would only tell the caller something.
pub fn parse_email_syntax(text: &str) -> Result<String, String> {
    if char_len(text) > EMAIL_MAX {
        return Err(too_long(EMAIL_MAX));
    }
    if !text.validate_email() {
        return Err(MSG_EMAIL.to_owned());
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err(MSG_EMAIL.to_owned());
    };
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// Whether `domain` (lower-case) or one of its parent domains is a disposable-mail
/// provider: `x.mailinator.com` is refused like `mailinator.com`.
pub fn is_disposable_domain(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    let mut rest = domain;
    loop {
        if DISPOSABLE.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if !parent.is_empty() => rest = parent,
            _ => return false,
        }
    }
}

/// Whether a phone number holds only digits, white space and `+ - ( ) .`.
pub fn is_phone(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_and_normalises_to_nfc() {
        assert_eq!(clean("  Cafe\u{301}  ", false), Ok("Café".to_owned()));
        assert_eq!(
            char_len(&clean("Cafe\u{301}", false).unwrap_or_default()),
            4
        );
    }

    proptest::proptest! {
        /// The quick-check shortcut changes nothing: the result is always the NFC form
        /// of the trimmed input (combining marks, Hangul jamo and precomposed letters
        /// mixed in).
        #[test]
        fn clean_is_exactly_trim_then_nfc(
            raw in "[ a-zA-Z\u{300}-\u{36f}\u{1100}-\u{1112}\u{1161}-\u{1175}\u{c0}-\u{ff}\u{212b}]{0,24}"
        ) {
            let want: String = raw.trim().nfc().collect();
            proptest::prop_assert_eq!(clean(&raw, false), Ok(want));
        }
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_multiline_text() {
        assert_eq!(clean("a\u{0}b", false), Err(MSG_CONTROL));
        assert_eq!(clean("a\nb", false), Err(MSG_CONTROL));
        assert_eq!(clean("a\nb\r\n\tc", true), Ok("a\nb\r\n\tc".to_owned()));
        assert_eq!(clean("a\u{7f}b", true), Err(MSG_CONTROL));
    }

    #[test]
    fn markup_is_detected_but_prose_with_angle_brackets_is_not() {
        for bad in [
            "<script>",
            "</b>",
            "<!-- x -->",
            "<?php",
            "<img src=x>",
            "javascript:alert(1)",
            "JavaScript :alert(1)",
            "java\tscript:alert(1)",
            "<É",
        ] {
            assert!(has_markup(bad), "{bad:?} should be markup");
        }
        for good in [
            "a < b",
            "<3",
            "I <3 you",
            "x<1",
            "javascript is fun",
            "< b",
            "",
        ] {
            assert!(!has_markup(good), "{good:?} should be fine");
        }
    }

    #[test]
    fn emails_are_validated_and_their_domain_lower_cased() {
        assert_eq!(
            parse_email("Jane.Doe@Example.COM"),
            Ok("Jane.Doe@example.com".to_owned())
        );
        for bad in ["plainaddress", "a@", "@b.com", "a b@c.com", "a@b@c.com"] {
            assert_eq!(parse_email(bad), Err(MSG_EMAIL.to_owned()), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(parse_email(&long), Err(too_long(254)));
    }

    #[test]
    fn disposable_domains_and_their_subdomains_are_refused() {
        assert!(
            DISPOSABLE.len() > 10_000,
            "the list should be the maintained one"
        );
        for d in [
            "mailinator.com",
            "x.mailinator.com",
            "a.b.yopmail.com",
            "tempmail.com",
        ] {
            assert!(is_disposable_domain(d), "{d}");
        }
        for d in ["example.com", "gmail.com", "com", "exitthree.example"] {
            assert!(!is_disposable_domain(d), "{d}");
        }
        assert_eq!(
            parse_email("someone@Sub.Mailinator.com"),
            Err(MSG_DISPOSABLE.to_owned())
        );
    }

    #[test]
    fn phone_numbers_allow_only_digits_spaces_and_punctuation() {
        assert!(is_phone("+1 (555) 123-45.67"));
        assert!(!is_phone("555-CALL"));
        assert!(!is_phone("١٢٣"));
    }
}
