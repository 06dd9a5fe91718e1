//! The capture settings (capture.md): staff notifications, idempotency keys, the spam
//! defence.

use std::time::Duration;

use exit3_core::spam::{FormTokenMode, SpamPolicy};

use super::reader::Reader;

/// `LEAD_NOTIFY_EMAILS`, `IDEMPOTENCY_TTL`, `SPAM_*` and `FORM_TOKEN*`.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    /// `LEAD_NOTIFY_EMAILS`: staff who get a mail about every accepted lead.
    pub notify: Vec<String>,
    /// `IDEMPOTENCY_TTL`: how long an `Idempotency-Key`'s answer is replayed.
    pub idempotency_ttl: Duration,
    /// The spam rules for the public key.
    pub spam: SpamPolicy,
}

pub(super) fn read_capture(r: &mut Reader<'_>) -> CaptureSettings {
    let notify = r.list("LEAD_NOTIFY_EMAILS");
    for address in &notify {
        if let Err(e) = exit3_core::text::EmailAddress::parse(address) {
            r.problem(format!(
                "LEAD_NOTIFY_EMAILS: {address:?} is not an e-mail address ({})",
                e.message()
            ));
        }
    }
    let idempotency_ttl = r.duration("IDEMPOTENCY_TTL", Duration::from_secs(1));
    let honeypot_field = r.text("SPAM_HONEYPOT_FIELD").unwrap_or_default();
    let form_token = match r
        .text("FORM_TOKEN")
        .map(|m| m.to_ascii_lowercase())
        .as_deref()
    {
        Some("off") => FormTokenMode::Off,
        None | Some("optional") => FormTokenMode::Optional,
        Some("required") => FormTokenMode::Required,
        Some(other) => {
            r.problem(format!(
                "FORM_TOKEN={other:?} is none of off, optional, required"
            ));
            FormTokenMode::Optional
        }
    };
    let min_age = r.duration("FORM_TOKEN_MIN_AGE", Duration::ZERO);
    let max_age = r.duration("FORM_TOKEN_MAX_AGE", Duration::from_secs(60));
    if min_age >= max_age {
        r.problem(format!(
            "FORM_TOKEN_MIN_AGE ({min_age:?}) must be shorter than FORM_TOKEN_MAX_AGE ({max_age:?})"
        ));
    }
    let max_links = r.number("SPAM_MAX_LINKS", 0..=1000, "a number of links");
    CaptureSettings {
        notify,
        idempotency_ttl,
        spam: SpamPolicy {
            honeypot_field,
            form_token,
            min_age,
            max_age,
            max_links,
        },
    }
}
