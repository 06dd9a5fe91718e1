//! The string rules shared by every text field of the contract (§3): trimming, NFC,
//! control and format characters, HTML markup, lengths in characters, phone numbers,
//! request headers — and, in their own modules, the one e-mail parse ([`EmailAddress`])
//! and the disposable-domain rule ([`DisposableDomains`]).

mod disposable;
mod email;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::messages;

pub use self::{
    disposable::{DisposableDomains, DomainListError},
    email::{EMAIL_MAX, EmailAddress, EmailError},
};

/// Whether `c` is refused in text like a control character ([`messages::CONTROL`]): the C0/C1 controls, and the
/// invisible characters that reorder or hide text (bidirectional embeddings, overrides
/// and isolates U+202A–U+202E and U+2066–U+2069, the zero-width space U+200B, U+FEFF)
/// — a name that shows as `evil.exe` while it holds `exe.live`. The joiners U+200C/U+200D
/// (emoji sequences, Indic and Persian text) and the marks U+200E/U+200F stay allowed.
pub fn is_refused_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{FEFF}')
}

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
    if text.chars().any(|c| is_refused_char(c) && !allowed(c)) {
        return Err(messages::CONTROL);
    }
    Ok(text)
}

/// The longest `User-Agent` or `Referer` kept, in characters.
pub const HEADER_MAX: usize = 512;

/// A request header as stored (`User-Agent`, `Referer`): every control and format
/// character removed — they are not the client's to put into a staff page — then cut to
/// [`HEADER_MAX`] characters. `None` when nothing is left.
pub fn header_text(value: Option<&str>) -> Option<String> {
    let value = value?;
    // Printable ASCII (most headers) holds no control or format character: only the cut
    // is left to do, without a look-up of each character's category.
    if value.bytes().all(|b| matches!(b, b' '..=b'~')) {
        let kept = &value[..value.len().min(HEADER_MAX)];
        return (!kept.is_empty()).then(|| kept.to_owned());
    }
    let kept: String = value
        .chars()
        .filter(|&c| !c.is_control() && c.general_category() != GeneralCategory::Format)
        .take(HEADER_MAX)
        .collect();
    (!kept.is_empty()).then_some(kept)
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

/// Whether a phone number holds only digits, white space and `+ - ( ) .`.
pub fn is_phone(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-().".contains(c))
}

/// Lower-case hex of `bytes` (key fingerprints, hashed addresses).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        assert_eq!(clean("a\u{0}b", false), Err(messages::CONTROL));
        assert_eq!(clean("a\nb", false), Err(messages::CONTROL));
        assert_eq!(clean("a\nb\r\n\tc", true), Ok("a\nb\r\n\tc".to_owned()));
        assert_eq!(clean("a\u{7f}b", true), Err(messages::CONTROL));
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
    fn bidi_overrides_and_invisible_spaces_are_refused_but_joiners_are_not() {
        for bad in [
            "\u{202E}exe.live",
            "a\u{2066}b",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "a\u{202A}",
        ] {
            assert_eq!(clean(bad, true), Err(messages::CONTROL), "{bad:?}");
        }
        for good in [
            "👨\u{200D}👩\u{200D}👧",
            "می\u{200C}خواهم",
            "a\u{200E}b\u{200F}",
        ] {
            assert_eq!(clean(good, false).as_deref(), Ok(good), "{good:?}");
        }
    }

    #[test]
    fn headers_lose_control_and_format_characters_then_are_cut() {
        assert_eq!(
            header_text(Some("Mozilla\u{0}/5.0\u{202E} (X11)\u{200B}\u{AD}\t")).as_deref(),
            Some("Mozilla/5.0 (X11)")
        );
        let long = format!("{}\u{202E}{}", "a".repeat(300), "b".repeat(300));
        let kept = header_text(Some(&long)).unwrap_or_default();
        assert_eq!(char_len(&kept), HEADER_MAX);
        assert!(!kept.contains('\u{202E}'));
        assert_eq!(header_text(Some("\u{1}\u{2}")), None);
        assert_eq!(header_text(None), None);
        // The printable-ASCII path cuts the same way, and a DEL still goes.
        let ascii = "Mozilla/5.0 ".repeat(60);
        assert_eq!(
            header_text(Some(&ascii)).as_deref(),
            Some(&ascii[..HEADER_MAX])
        );
        assert_eq!(header_text(Some("a\u{7F}b")).as_deref(), Some("ab"));
        assert_eq!(header_text(Some("")), None);
    }

    #[test]
    fn phone_numbers_allow_only_digits_spaces_and_punctuation() {
        assert!(is_phone("+1 (555) 123-45.67"));
        assert!(!is_phone("555-CALL"));
        assert!(!is_phone("١٢٣"));
    }
}
