//! Form tokens (capture.md §1): an issue time and a nonce, signed with `SECRET_KEY`.
//! A person takes a few seconds to fill a form and sends it within the day; a bot posts
//! at once, or replays one token for ever. Single use is the store's (every instance
//! shares it).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;

use super::SpamReason;
use crate::{
    clock::{Timestamp, from_micros, to_micros},
    tokens::{Purpose, Secrets},
};

const DATA: usize = 8 + 16;

/// A token as `GET form-token/` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The opaque token for the form's hidden `form_token` field.
    pub token: String,
    /// Seconds before a form with it is taken as sent by a person.
    pub min_age_seconds: u64,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// A token whose signature held: when it was issued and its nonce (what single use is
/// kept by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormToken {
    /// When it was issued.
    pub issued_at: Timestamp,
    /// Its random part.
    pub nonce: [u8; 16],
}

impl FormToken {
    /// A fresh token issued at `now`.
    pub fn issue(secrets: &Secrets, now: Timestamp) -> String {
        let mut data = [0u8; DATA];
        data[..8].copy_from_slice(&to_micros(now).to_be_bytes());
        rand::rng().fill_bytes(&mut data[8..]);
        let mut raw = data.to_vec();
        raw.extend_from_slice(&secrets.sign(Purpose::FormToken, &data));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The token `raw` when its signature holds under any key, judged at `now`:
    /// [`SpamReason::FormTokenInvalid`] for a forged, malformed or expired one (older than
    /// `max_age`, or issued in the future), [`SpamReason::FormTokenTooFast`] for one
    /// younger than `min_age`.
    pub fn check(
        secrets: &Secrets,
        raw: &str,
        now: Timestamp,
        min_age: Duration,
        max_age: Duration,
    ) -> Result<Self, SpamReason> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| SpamReason::FormTokenInvalid)?;
        if bytes.len() != DATA + 32 {
            return Err(SpamReason::FormTokenInvalid);
        }
        let (data, signature) = bytes.split_at(DATA);
        if !secrets.verify(Purpose::FormToken, data, signature) {
            return Err(SpamReason::FormTokenInvalid);
        }
        let mut micros = [0u8; 8];
        micros.copy_from_slice(&data[..8]);
        let issued = i64::from_be_bytes(micros);
        let age = to_micros(now).saturating_sub(issued);
        let micros_of = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        if age < 0 || age >= micros_of(max_age) {
            return Err(SpamReason::FormTokenInvalid);
        }
        if age < micros_of(min_age) {
            return Err(SpamReason::FormTokenTooFast);
        }
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&data[8..]);
        Ok(Self {
            issued_at: from_micros(issued),
            nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(3);
    const MAX: Duration = Duration::from_secs(86_400);

    fn t(s: i64) -> Timestamp {
        from_micros(1_735_689_600_000_000 + s * 1_000_000)
    }

    #[test]
    fn a_token_is_good_between_its_min_and_max_age_under_every_key() {
        let old = Secrets::new("old-key-0123456789abcdef", Vec::<&str>::new());
        let token = FormToken::issue(&old, t(0));
        let rotated = Secrets::new("new-key-0123456789abcdef", ["old-key-0123456789abcdef"]);
        for secrets in [&old, &rotated] {
            let ok = FormToken::check(secrets, &token, t(3), MIN, MAX).expect("good");
            assert_eq!(ok.issued_at, t(0));
        }
        assert_eq!(
            FormToken::check(&old, &token, t(2), MIN, MAX),
            Err(SpamReason::FormTokenTooFast)
        );
        assert_eq!(
            FormToken::check(&old, &token, t(86_400), MIN, MAX),
            Err(SpamReason::FormTokenInvalid)
        );
        assert_eq!(
            FormToken::check(&old, &token, t(-1), MIN, MAX),
            Err(SpamReason::FormTokenInvalid),
            "issued in the future"
        );
        let other = Secrets::new("another-key-0123456789ab", Vec::<&str>::new());
        assert_eq!(
            FormToken::check(&other, &token, t(5), MIN, MAX),
            Err(SpamReason::FormTokenInvalid)
        );
    }

    #[test]
    fn forged_and_malformed_tokens_are_invalid() {
        let secrets = Secrets::new("key-0123456789abcdef0123", Vec::<&str>::new());
        let token = FormToken::issue(&secrets, t(0));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[0] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        for bad in [forged.as_str(), "", "not base64!", "AAAA", &token[..20]] {
            assert_eq!(
                FormToken::check(&secrets, bad, t(5), MIN, MAX),
                Err(SpamReason::FormTokenInvalid),
                "{bad:?}"
            );
        }
        let a = FormToken::check(&secrets, &token, t(5), MIN, MAX).expect("good");
        let b = FormToken::check(&secrets, &FormToken::issue(&secrets, t(0)), t(5), MIN, MAX)
            .expect("good");
        assert_ne!(a.nonce, b.nonce);
    }
}
