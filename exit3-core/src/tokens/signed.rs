//! HMAC-SHA256 signatures, purpose-tagged, with key fallbacks.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::SubscriberId;

type HmacSha256 = Hmac<Sha256>;

/// What a signature is for: a signature made for one purpose never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// The unsubscribe link of every mail to a subscriber.
    Unsubscribe,
    /// A form token (spam defence).
    FormToken,
    /// The CSRF token of a staff session: the session's hash, signed.
    Csrf,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Self::Unsubscribe => b"exit3/unsubscribe/v1",
            Self::FormToken => b"exit3/form-token/v1",
            Self::Csrf => b"exit3/csrf/v1",
        }
    }
}

/// The signing keys: `SECRET_KEY` signs; it and every fallback verify.
#[derive(Clone)]
pub struct Secrets {
    current: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
}

impl fmt::Debug for Secrets {
    /// Never shows a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("fallbacks", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// `current` signs; `fallbacks` (older keys) still verify.
    pub fn new<F: AsRef<[u8]>>(
        current: impl AsRef<[u8]>,
        fallbacks: impl IntoIterator<Item = F>,
    ) -> Self {
        Self {
            current: current.as_ref().to_vec(),
            fallbacks: fallbacks
                .into_iter()
                .map(|f| f.as_ref().to_vec())
                .filter(|f| !f.is_empty())
                .collect(),
        }
    }

    /// A fresh random key (a process without `SECRET_KEY`: its links die with it).
    pub fn random() -> Self {
        let key: [u8; 32] = rand::random();
        Self::new(key, Vec::<Vec<u8>>::new())
    }

    fn mac(key: &[u8], purpose: Purpose, data: &[u8]) -> HmacSha256 {
        // Any key length is valid for HMAC: `new_from_slice` cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.tag());
        mac.update(&[0]);
        mac.update(data);
        mac
    }

    /// The signature of `data` for `purpose`, with the current key.
    pub fn sign(&self, purpose: Purpose, data: &[u8]) -> [u8; 32] {
        Self::mac(&self.current, purpose, data)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `signature` is `data`'s for `purpose` under any of the keys (constant
    /// time per key).
    pub fn verify(&self, purpose: Purpose, data: &[u8], signature: &[u8]) -> bool {
        std::iter::once(&self.current)
            .chain(&self.fallbacks)
            .any(|key| {
                Self::mac(key, purpose, data)
                    .verify_slice(signature)
                    .is_ok()
            })
    }
}

/// The unsubscribe token of a subscriber: its id and the id's signature, URL-safe
/// base64 (no padding). It does not expire: a mail years old still unsubscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubscribeToken;

impl UnsubscribeToken {
    /// The token for `id`.
    pub fn issue(secrets: &Secrets, id: SubscriberId) -> String {
        let data = id.get().to_be_bytes();
        let mut raw = data.to_vec();
        raw.extend_from_slice(&secrets.sign(Purpose::Unsubscribe, &data));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The subscriber a token is for, when its signature holds under any key.
    pub fn verify(secrets: &Secrets, token: &str) -> Option<SubscriberId> {
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if raw.len() != 8 + 32 {
            return None;
        }
        let (data, signature) = raw.split_at(8);
        if !secrets.verify(Purpose::Unsubscribe, data, signature) {
            return None;
        }
        let id = i64::from_be_bytes(data.try_into().ok()?);
        SubscriberId::new(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> SubscriberId {
        SubscriberId::new(n).unwrap_or_else(|| panic!("positive"))
    }

    #[test]
    fn unsubscribe_tokens_verify_under_the_key_and_its_fallbacks_only() {
        let old = Secrets::new("old-key-0123456789", Vec::<&str>::new());
        let token = UnsubscribeToken::issue(&old, id(42));
        assert_eq!(UnsubscribeToken::verify(&old, &token), Some(id(42)));
        let rotated = Secrets::new("new-key-0123456789", ["old-key-0123456789"]);
        assert_eq!(UnsubscribeToken::verify(&rotated, &token), Some(id(42)));
        let other = Secrets::new("another-key-012345", Vec::<&str>::new());
        assert_eq!(UnsubscribeToken::verify(&other, &token), None);
        assert!(!token.contains(['+', '/', '=']), "{token}");
    }

    #[test]
    fn tampered_tokens_and_other_purposes_are_refused() {
        let s = Secrets::new("key-0123456789abcdef", Vec::<&str>::new());
        let token = UnsubscribeToken::issue(&s, id(7));
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
        raw[7] ^= 1; // another id, the same signature
        assert_eq!(
            UnsubscribeToken::verify(&s, &URL_SAFE_NO_PAD.encode(&raw)),
            None
        );
        for bad in ["", "x", "!!!", &token[..token.len() - 2]] {
            assert_eq!(UnsubscribeToken::verify(&s, bad), None, "{bad}");
        }
        let data = 7i64.to_be_bytes();
        let sig = s.sign(Purpose::FormToken, &data);
        assert!(!s.verify(Purpose::Unsubscribe, &data, &sig));
        assert!(s.verify(Purpose::FormToken, &data, &sig));
    }

    #[test]
    fn debug_never_shows_a_key() {
        let s = Secrets::new("super-secret-key", ["older-secret"]);
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("super-secret") && !shown.contains("older"),
            "{shown}"
        );
    }
}
