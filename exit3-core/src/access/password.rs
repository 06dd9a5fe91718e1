//! Staff passwords: the rule a new one must meet, and Argon2id hashes (PHC strings) that
//! are all a store ever keeps.
//!
//! Hashing is deliberately slow, so it runs on tokio's blocking pool, never on a
//! request's thread. A sign-in for an unknown user verifies against a fixed hash of the
//! same cost, so that the answer's timing does not say which usernames exist.

use std::{fmt, sync::LazyLock};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier, SaltString},
};

use crate::{domain::Username, error::FieldErrors, messages};

/// The shortest password accepted, in characters (admin.md).
pub const PASSWORD_MIN: usize = 12;
/// The longest, so that a hash's input stays bounded.
pub const PASSWORD_MAX: usize = 1024;

/// OWASP's Argon2id setting with 7 MiB of memory and five passes (equivalent in
/// strength to its 19 MiB, two-pass one) — the smaller memory keeps the server's peak
/// RSS low while a few sign-ins run at once.
const MEMORY_KIB: u32 = 7 * 1024;
const PASSES: u32 = 5;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A password that meets the rule; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

impl NewPassword {
    /// Checks `password` for `username`: at least [`PASSWORD_MIN`] characters (at most
    /// [`PASSWORD_MAX`]), and not the username nor containing it (case-insensitively).
    pub fn parse(password: &str, username: &Username) -> Result<Self, FieldErrors> {
        let chars = password.chars().count();
        if chars < PASSWORD_MIN {
            return Err(FieldErrors::single(
                "password",
                messages::PASSWORD_TOO_SHORT,
            ));
        }
        if chars > PASSWORD_MAX {
            return Err(FieldErrors::single(
                "password",
                messages::too_long(PASSWORD_MAX),
            ));
        }
        if password.to_lowercase().contains(&username.folded()) {
            return Err(FieldErrors::single(
                "password",
                messages::PASSWORD_LIKE_USERNAME,
            ));
        }
        Ok(Self(password.to_owned()))
    }

    /// Its Argon2id hash with a fresh salt, computed on the blocking pool.
    pub async fn hash(self) -> Result<PasswordHash, crate::Error> {
        tokio::task::spawn_blocking(move || PasswordHash::compute(&self.0))
            .await
            .map_err(crate::Error::internal)?
    }
}

/// An Argon2id hash in PHC form (`$argon2id$v=19$m=…`): what stores keep.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    fn compute(password: &str) -> Result<Self, crate::Error> {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| crate::Error::internal(e.to_string()))?;
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| Self(h.to_string()))
            .map_err(|e| crate::Error::internal(e.to_string()))
    }

    /// A hash read back from a store; `None` when it is not a PHC string.
    pub fn from_stored(phc: impl Into<String>) -> Option<Self> {
        let phc = phc.into();
        argon2::PasswordHash::new(&phc).is_ok().then_some(Self(phc))
    }

    /// The PHC string, for the store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` is the one hashed (constant time), on the blocking pool.
    /// `None` stands for an unknown user: a fixed hash of the same cost is checked, and
    /// the answer is `false`.
    pub async fn verify(hash: Option<Self>, password: String) -> bool {
        tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let phc = hash.map_or_else(|| UNKNOWN_USER.0.clone(), |h| h.0);
            let matches = argon2::PasswordHash::new(&phc).is_ok_and(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            });
            known && matches
        })
        .await
        .unwrap_or(false)
    }
}

/// What an unknown user's password is checked against.
static UNKNOWN_USER: LazyLock<PasswordHash> = LazyLock::new(|| {
    PasswordHash::compute("no user has this password")
        .unwrap_or_else(|_| PasswordHash(String::new()))
});

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Username {
        Username::parse("ada").unwrap()
    }

    #[test]
    fn a_new_password_is_long_and_not_the_username() {
        assert!(NewPassword::parse("correct horse", &ada()).is_ok());
        for bad in ["short", "elevenchars", "my name is ada!", "ADA-ADA-ADA-ADA"] {
            assert!(NewPassword::parse(bad, &ada()).is_err(), "{bad}");
        }
        assert!(NewPassword::parse(&"x".repeat(1025), &ada()).is_err());
        assert!(!format!("{:?}", NewPassword::parse("correct horse", &ada())).contains("horse"));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = NewPassword::parse("correct horse", &ada())
            .unwrap()
            .hash()
            .await
            .unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
        assert_ne!(
            NewPassword::parse("correct horse", &ada())
                .unwrap()
                .hash()
                .await
                .unwrap(),
            hash,
            "salted"
        );
        let stored = PasswordHash::from_stored(hash.as_str()).unwrap();
        assert!(PasswordHash::verify(Some(stored.clone()), "correct horse".into()).await);
        assert!(!PasswordHash::verify(Some(stored), "correct horsE".into()).await);
        assert!(!PasswordHash::verify(None, "no user has this password".into()).await);
        assert_eq!(PasswordHash::from_stored("plain"), None);
        assert!(!format!("{hash:?}").contains("argon2"));
    }
}
