//! Idempotency keys (capture.md §2): a client that retries `POST leads/` or
//! `POST newsletter/` with the same `Idempotency-Key` gets the first answer again instead
//! of a second lead. Here: the header's rule, the record a store keeps per caller and
//! key, and which answers are kept.

use std::{net::IpAddr, time::Duration};

use sha2::{Digest, Sha256};

use crate::{access::Caller, clock::Timestamp};

/// How long a record answers replays unless configured (`IDEMPOTENCY_TTL`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// How long a request holds its key while it runs: a server that died meanwhile leaves a
/// record another request of the same fingerprint may take over once this has passed.
pub const LEASE: Duration = Duration::from_secs(60);

/// A valid `Idempotency-Key`: 1–255 visible ASCII characters (a structured-field string
/// `"…"` counts as its content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Reads the header's value; `None` when it breaks the rule (answered 400
    /// [`INVALID_IDEMPOTENCY_KEY`](crate::messages::INVALID_IDEMPOTENCY_KEY)).
    pub fn parse(raw: &str) -> Option<Self> {
        let content = match raw.strip_prefix('"') {
            Some(quoted) => unquote(quoted.strip_suffix('"')?)?,
            None => raw.to_owned(),
        };
        let visible = content.bytes().all(|b| b.is_ascii_graphic());
        ((1..=255).contains(&content.len()) && visible).then_some(Self(content))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The inside of an RFC 8941 string: `\"` and `\\` escapes, nothing else escaped.
fn unquote(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                e @ ('"' | '\\') => out.push(e),
                _ => return None,
            },
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// What a record is found by: the caller (the admin key; the public key with the client
/// address) and the key, hashed so that no key material is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey(pub [u8; 32]);

impl RecordKey {
    /// The record of `key` sent by `caller` from `ip`. Admin requests share one record
    /// per key whatever their address; public ones are kept apart by address, since the
    /// public key is everyone's.
    pub fn new(caller: &Caller, ip: Option<IpAddr>, key: &IdempotencyKey) -> Self {
        let mut hash = Sha256::new();
        hash.update(caller.key_fingerprint().as_bytes());
        hash.update([0]);
        if caller.scope() == crate::Scope::Public {
            hash.update(
                ip.map(|ip| ip.to_canonical().to_string())
                    .unwrap_or_default(),
            );
        }
        hash.update([0]);
        hash.update(key.as_str().as_bytes());
        Self(hash.finalize().into())
    }
}

impl RecordKey {
    /// The record that marks a form token used (spam defence), by its nonce: apart
    /// from every caller's keys.
    pub fn form_token(nonce: &[u8; 16]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"exit3/form-token-used\0");
        hash.update(nonce);
        Self(hash.finalize().into())
    }
}

/// What makes two requests the same: method, path and body bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a request.
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let mut hash = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.update(body);
        Self(hash.finalize().into())
    }
}

/// A kept answer: status and body, replayed as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, byte for byte.
    pub body: String,
}

/// What a store found when a request began with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The key is this request's now (new, expired, or taken over after its lease):
    /// process it, then finish or release the record.
    Started,
    /// The same request was answered: this is its answer.
    Answered(StoredAnswer),
    /// The same request is still running.
    Running,
    /// The key was used with another request.
    Mismatch,
}

/// One record's state, as every store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The first request's fingerprint.
    pub fingerprint: Fingerprint,
    /// Its answer, once kept.
    pub answer: Option<StoredAnswer>,
    /// Until when a running request holds it.
    pub locked_until: Timestamp,
    /// When it stops answering.
    pub expires_at: Timestamp,
}

impl Record {
    /// What a request with `fingerprint` finds in this record at `now`, and whether it
    /// takes the record over (a [`Begun::Started`]).
    pub fn begin(&self, fingerprint: Fingerprint, now: Timestamp) -> Begun {
        if self.expires_at <= now {
            return Begun::Started;
        }
        if self.fingerprint != fingerprint {
            return Begun::Mismatch;
        }
        match &self.answer {
            Some(answer) => Begun::Answered(answer.clone()),
            None if self.locked_until <= now => Begun::Started,
            None => Begun::Running,
        }
    }
}

/// Whether an answer with `status` is kept: successes and validation failures are; a
/// refusal (403, 429) or a failure (5xx) is not, so that the client may retry.
pub fn keeps(status: u16) -> bool {
    (200..300).contains(&status) || status == 400
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_micros;

    #[test]
    fn keys_are_visible_ascii_of_at_most_255_characters() {
        assert_eq!(
            IdempotencyKey::parse("8e03978e-40d5-43e8-bc93-6894a57f9324").map(|k| k.0.len()),
            Some(36)
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        for bad in ["", " ", "a b", "ключ", "a\tb", "\"\"", "\"open"] {
            assert_eq!(IdempotencyKey::parse(bad), None, "{bad:?}");
        }
        assert_eq!(IdempotencyKey::parse(&"k".repeat(256)), None);
    }

    #[test]
    fn a_quoted_key_counts_as_its_content() {
        assert_eq!(
            IdempotencyKey::parse("\"8e03\""),
            IdempotencyKey::parse("8e03")
        );
        assert_eq!(
            IdempotencyKey::parse(r#""a\"b\\c""#).map(|k| k.0),
            Some(r#"a"b\c"#.to_owned())
        );
        assert_eq!(IdempotencyKey::parse(r#""a\x""#), None);
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart() {
        let a = Fingerprint::of("POST", "/backend/api/v1/leads/", b"{}");
        assert_eq!(a, Fingerprint::of("POST", "/backend/api/v1/leads/", b"{}"));
        assert_ne!(a, Fingerprint::of("POST", "/backend/api/v1/leads/", b"{ }"));
        assert_ne!(a, Fingerprint::of("POST", "/backend/api/leads/", b"{}"));
        // The boundary between path and body cannot be moved.
        assert_ne!(
            Fingerprint::of("POST", "/a", b"b"),
            Fingerprint::of("POST", "/ab", b"")
        );
    }

    #[test]
    fn records_answer_by_the_table() {
        let t = |s: i64| from_micros(s * 1_000_000);
        let same = Fingerprint::of("POST", "/p", b"1");
        let other = Fingerprint::of("POST", "/p", b"2");
        let running = Record {
            fingerprint: same,
            answer: None,
            locked_until: t(60),
            expires_at: t(100),
        };
        assert_eq!(running.begin(same, t(1)), Begun::Running);
        assert_eq!(running.begin(other, t(1)), Begun::Mismatch);
        assert_eq!(running.begin(same, t(60)), Begun::Started, "lease over");
        assert_eq!(running.begin(other, t(100)), Begun::Started, "expired");
        let answer = StoredAnswer {
            status: 201,
            body: "{}".into(),
        };
        let done = Record {
            answer: Some(answer.clone()),
            ..running
        };
        assert_eq!(done.begin(same, t(99)), Begun::Answered(answer));
        assert_eq!(done.begin(other, t(99)), Begun::Mismatch);
    }

    #[test]
    fn only_successes_and_validation_failures_are_kept() {
        assert!(keeps(201) && keeps(200) && keeps(400));
        assert!(!keeps(403) && !keeps(429) && !keeps(500) && !keeps(503) && !keeps(409));
    }
}
