//! Random tokens: 32 random bytes in a link or a cookie, only their SHA-256 stored, so
//! that the database (or a copy of it) cannot confirm anybody or sign anybody in.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// The SHA-256 of a random token: what stores keep and look up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// A fresh random token.
#[derive(Clone, PartialEq, Eq)]
pub struct RandomToken {
    token: String,
    hash: TokenHash,
}

impl fmt::Debug for RandomToken {
    /// Never shows the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RandomToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl RandomToken {
    /// 32 random bytes, URL-safe base64 without padding.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = TokenHash(Sha256::digest(bytes).into());
        Self { token, hash }
    }

    /// The token, for the link or cookie.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// Its hash, for the store.
    pub fn hash(&self) -> TokenHash {
        self.hash
    }

    /// The hash of a token a link or cookie brought back; `None` when it cannot be one.
    pub fn hash_of(token: &str) -> Option<TokenHash> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        (bytes.len() == 32).then(|| TokenHash(Sha256::digest(bytes).into()))
    }
}

/// The token of a confirmation link.
pub type ConfirmationToken = RandomToken;

/// The token of a staff session, in its cookie.
pub type SessionToken = RandomToken;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hashes_to_what_is_stored_and_nothing_else_does() {
        let t = ConfirmationToken::generate();
        assert_eq!(t.as_str().len(), 43);
        assert_eq!(ConfirmationToken::hash_of(t.as_str()), Some(t.hash()));
        assert_ne!(ConfirmationToken::generate().hash(), t.hash());
        for bad in ["", "abc", "!!!!", &t.as_str()[..40]] {
            assert_eq!(ConfirmationToken::hash_of(bad), None, "{bad}");
        }
        assert!(!format!("{t:?}").contains(t.as_str()));
    }
}
