//! Spam defence (capture.md §1) for the public key: a honeypot field, signed form
//! tokens with a minimum and maximum age used once, and a cap on links. A doubtful lead
//! or subscription is not refused — a refused real lead is a lost customer — but
//! quarantined: stored, answered like any other, silent until staff release it.

mod token;

use std::time::Duration;

use serde_json::Value;

pub use self::token::{FormToken, IssuedToken};
use crate::{choice_enum, clock::Timestamp, input::Payload};

choice_enum!(
    /// Why a request was quarantined.
    SpamReason {
        /// The hidden honeypot field was filled.
        Honeypot = "honeypot",
        /// `FORM_TOKEN=required` and the body carried none.
        FormTokenMissing = "form_token_missing",
        /// A forged, malformed or expired form token.
        FormTokenInvalid = "form_token_invalid",
        /// Sent sooner after its token was issued than a person fills a form.
        FormTokenTooFast = "form_token_too_fast",
        /// A token used before.
        FormTokenReused = "form_token_reused",
        /// More links in `message` than `SPAM_MAX_LINKS`.
        TooManyLinks = "too_many_links",
    }
);

/// A quarantined lead's or subscription's mark: why, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// Every reason that applied, in [`SpamReason`] order.
    pub reasons: Vec<SpamReason>,
    /// When it was quarantined.
    pub at: Timestamp,
}

/// How form tokens are judged (`FORM_TOKEN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormTokenMode {
    /// Not at all.
    Off,
    /// When the body carries one (the default).
    #[default]
    Optional,
    /// Always: a body without one is quarantined.
    Required,
}

/// The spam rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamPolicy {
    /// `SPAM_HONEYPOT_FIELD` (default `website`); empty: no honeypot.
    pub honeypot_field: String,
    /// `FORM_TOKEN`.
    pub form_token: FormTokenMode,
    /// `FORM_TOKEN_MIN_AGE` (default 3 s).
    pub min_age: Duration,
    /// `FORM_TOKEN_MAX_AGE` (default 24 h).
    pub max_age: Duration,
    /// `SPAM_MAX_LINKS` (default 3).
    pub max_links: usize,
}

impl Default for SpamPolicy {
    fn default() -> Self {
        Self {
            honeypot_field: "website".to_owned(),
            form_token: FormTokenMode::Optional,
            min_age: Duration::from_secs(3),
            max_age: Duration::from_secs(24 * 3600),
            max_links: 3,
        }
    }
}

/// The field a body carries its form token in.
pub const FORM_TOKEN_FIELD: &str = "form_token";

/// How many links a text holds: `http://`, `https://` and `www.`, any case (a `www.`
/// right after a scheme counts once).
pub fn count_links(text: &str) -> usize {
    let lower = text.to_lowercase();
    let schemes = lower.matches("http://").count() + lower.matches("https://").count();
    let bare_www = lower
        .matches("www.")
        .count()
        .saturating_sub(lower.matches("://www.").count());
    schemes + bare_www
}

impl SpamPolicy {
    /// The reasons `payload` gives that need no store: the honeypot, the links, and the
    /// form token's own checks. A token that passes is answered for the store to use
    /// once.
    pub fn judge(
        &self,
        payload: &Payload,
        secrets: &crate::tokens::Secrets,
        now: Timestamp,
    ) -> (Vec<SpamReason>, Option<FormToken>) {
        let mut reasons = Vec::new();
        if !self.honeypot_field.is_empty()
            && payload
                .value(&self.honeypot_field)
                .is_some_and(|v| !is_blank(v))
        {
            reasons.push(SpamReason::Honeypot);
        }
        let mut good = None;
        if self.form_token != FormTokenMode::Off {
            match payload.value(FORM_TOKEN_FIELD).filter(|v| !is_blank(v)) {
                None if self.form_token == FormTokenMode::Required => {
                    reasons.push(SpamReason::FormTokenMissing);
                }
                None => {}
                Some(Value::String(raw)) => {
                    match FormToken::check(secrets, raw, now, self.min_age, self.max_age) {
                        Ok(token) => good = Some(token),
                        Err(reason) => reasons.push(reason),
                    }
                }
                Some(_) => reasons.push(SpamReason::FormTokenInvalid),
            }
        }
        if payload
            .value("message")
            .and_then(Value::as_str)
            .is_some_and(|m| count_links(m) > self.max_links)
        {
            reasons.push(SpamReason::TooManyLinks);
        }
        (reasons, good)
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{clock::from_micros, tokens::Secrets};

    fn t(s: i64) -> Timestamp {
        from_micros(1_735_689_600_000_000 + s * 1_000_000)
    }

    #[test]
    fn links_are_counted_once_each() {
        assert_eq!(count_links("no links here"), 0);
        assert_eq!(count_links("see https://www.example.com and www.x.io"), 2);
        assert_eq!(count_links("HTTP://A http://b HTTPS://c"), 3);
    }

    #[test]
    fn each_signal_gives_its_reason() {
        let secrets = Secrets::new("key-0123456789abcdef0123", Vec::<&str>::new());
        let policy = SpamPolicy::default();
        let clean = Payload::empty()
            .with("full_name", "Ada")
            .with("website", "");
        assert_eq!(policy.judge(&clean, &secrets, t(0)).0, vec![]);

        let token = FormToken::issue(&secrets, t(0));
        let bot = Payload::empty()
            .with("website", "http://spam.example")
            .with("form_token", token.as_str())
            .with("message", "a http://1 b http://2 c http://3 d http://4");
        let (reasons, good) = policy.judge(&bot, &secrets, t(1));
        assert_eq!(
            reasons,
            vec![
                SpamReason::Honeypot,
                SpamReason::FormTokenTooFast,
                SpamReason::TooManyLinks
            ]
        );
        assert_eq!(good, None);

        let person = Payload::empty().with("form_token", token.as_str());
        let (reasons, good) = policy.judge(&person, &secrets, t(10));
        assert!(reasons.is_empty() && good.is_some());

        let required = SpamPolicy {
            form_token: FormTokenMode::Required,
            ..SpamPolicy::default()
        };
        assert_eq!(
            required.judge(&clean, &secrets, t(0)).0,
            vec![SpamReason::FormTokenMissing]
        );
        let off = SpamPolicy {
            form_token: FormTokenMode::Off,
            ..SpamPolicy::default()
        };
        let forged = Payload::empty().with("form_token", "forged");
        assert!(off.judge(&forged, &secrets, t(0)).0.is_empty());
        assert_eq!(
            policy.judge(&forged, &secrets, t(0)).0,
            vec![SpamReason::FormTokenInvalid]
        );
        let not_text = Payload::empty().with("form_token", 12);
        assert_eq!(
            policy.judge(&not_text, &secrets, t(0)).0,
            vec![SpamReason::FormTokenInvalid]
        );
    }
}
