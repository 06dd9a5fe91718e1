//! API keys: reading the presented key, and checking it against the configured ones in
//! constant time, keeping only digests.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Operation, Scope};
use crate::{
    domain::{Actor, StaffId, StaffRole, StaffUser, Username},
    error::{Denial, Error},
};

/// An authenticated caller: its scope and a fingerprint of its key (for throttling by
/// key without keeping the key itself anywhere) — or a signed-in staff user, who has
/// the admin scope narrowed by their role.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    scope: Scope,
    fingerprint: [u8; 8],
    staff: Option<StaffIdentity>,
}

/// Who a staff caller is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaffIdentity {
    /// Their id.
    pub id: StaffId,
    /// Their username.
    pub username: Username,
    /// Their role.
    pub role: StaffRole,
}

impl Caller {
    /// A signed-in staff user: the admin scope (they see what the admin key sees, and
    /// are never judged as spam), narrowed by their role, throttled per user.
    pub fn staff(user: &StaffUser) -> Self {
        let digest = Sha256::digest(format!("staff:{}", user.id).as_bytes());
        let mut fingerprint = [0; 8];
        fingerprint.copy_from_slice(&digest[..8]);
        Self {
            scope: Scope::Admin,
            fingerprint,
            staff: Some(StaffIdentity {
                id: user.id,
                username: user.username.clone(),
                role: user.role,
            }),
        }
    }

    /// The caller's scope.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Whether the caller may call `operation`: the scope's rule, and a staff user's
    /// role's.
    pub fn allows(&self, operation: Operation) -> bool {
        self.scope.allows(operation)
            && self
                .staff
                .as_ref()
                .is_none_or(|staff| staff.role.allows(operation))
    }

    /// The staff user, when the caller is one.
    pub fn staff_identity(&self) -> Option<&StaffIdentity> {
        self.staff.as_ref()
    }

    /// Who did it, as history records it (admin.md "History"): `staff:<username>`,
    /// `api:admin:<fingerprint>`, `api:public`.
    pub fn actor(&self) -> Actor {
        match (&self.staff, self.scope) {
            (Some(staff), _) => Actor::Staff(staff.username.as_str().to_owned()),
            (None, Scope::Admin) => Actor::AdminKey(self.key_fingerprint()),
            (None, Scope::Public) => Actor::Public,
        }
    }

    /// A short, stable, non-reversible id of the key: the first 8 bytes of its SHA-256,
    /// in hex.
    pub fn key_fingerprint(&self) -> String {
        crate::text::hex(&self.fingerprint)
    }
}

impl fmt::Debug for Caller {
    /// Never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("scope", &self.scope)
            .field("key", &self.key_fingerprint())
            .field("staff", &self.staff)
            .finish()
    }
}

/// What a request presented as its key.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// No key at all.
    #[default]
    Missing,
    /// A header that does not hold a key in a known form.
    Malformed,
    /// A key, not yet checked.
    Key(String),
    /// A staff session's token (the staff site's cookie), not yet checked.
    Session(String),
    /// A session the service has already checked for this request
    /// ([`Exit3::session`](crate::Exit3::session)): its caller, so that the page's
    /// further calls need no second look-up. Only the core can make one.
    Checked(CheckedSession),
}

/// A staff session checked by the service; no public constructor.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedSession(pub(crate) Caller);

impl fmt::Debug for Credential {
    /// Never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "Missing",
            Self::Malformed => "Malformed",
            Self::Key(_) => "Key(..)",
            Self::Session(_) => "Session(..)",
            Self::Checked(_) => "Checked(..)",
        })
    }
}

impl Credential {
    /// Reads the contract's three header forms: `Authorization: Basic <key>` (the raw
    /// key, what the website sends), `Authorization: Bearer <key>`, or `X-API-Key: <key>`.
    /// `Authorization` wins when both are present; an empty header counts as absent.
    pub fn from_headers(authorization: Option<&str>, x_api_key: Option<&str>) -> Self {
        if let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) {
            let mut parts = header.split_whitespace();
            return match (parts.next(), parts.next(), parts.next()) {
                (Some(scheme), Some(key), None)
                    if scheme.eq_ignore_ascii_case("basic")
                        || scheme.eq_ignore_ascii_case("bearer") =>
                {
                    Self::Key(key.to_owned())
                }
                _ => Self::Malformed,
            };
        }
        match x_api_key.map(str::trim) {
            Some(key) if !key.is_empty() => Self::Key(key.to_owned()),
            _ => Self::Missing,
        }
    }
}

/// The configured keys: one or more admin keys and zero or more public keys (several of
/// each so that keys can be rotated without downtime). Only SHA-256 digests are kept;
/// presented keys are compared digest to digest in constant time, against every key.
#[derive(Clone, Default)]
pub struct ApiKeys {
    admin: Vec<[u8; 32]>,
    public: Vec<[u8; 32]>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("admin", &self.admin.len())
            .field("public", &self.public.len())
            .finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// Keys from lists; empty strings are skipped.
    pub fn new<A: AsRef<str>, P: AsRef<str>>(
        admin: impl IntoIterator<Item = A>,
        public: impl IntoIterator<Item = P>,
    ) -> Self {
        let digests = |keys: Vec<String>| {
            keys.iter()
                .map(|k| k.trim())
                .filter(|k| !k.is_empty())
                .map(digest)
                .collect()
        };
        Self {
            admin: digests(admin.into_iter().map(|k| k.as_ref().to_owned()).collect()),
            public: digests(public.into_iter().map(|k| k.as_ref().to_owned()).collect()),
        }
    }

    /// Whether any admin key is configured.
    pub fn has_admin_key(&self) -> bool {
        !self.admin.is_empty()
    }

    /// Who presented `credential`, or the DRF answer for why nobody did.
    pub fn authenticate(&self, credential: &Credential) -> Result<Caller, Error> {
        let key = match credential {
            Credential::Missing => return Err(Error::Forbidden(Denial::NoCredentials)),
            Credential::Malformed => return Err(Error::Forbidden(Denial::InvalidKey)),
            // Sessions are the service's to check (they live in the store).
            Credential::Session(_) => return Err(Error::Forbidden(Denial::NoCredentials)),
            Credential::Checked(session) => return Ok(session.0.clone()),
            Credential::Key(key) => key,
        };
        let presented = digest(key);
        let matches = |keys: &[[u8; 32]]| {
            keys.iter().fold(subtle::Choice::from(0), |found, k| {
                found | k.ct_eq(&presented)
            })
        };
        let (admin, public) = (matches(&self.admin), matches(&self.public));
        let scope = if bool::from(admin) {
            Scope::Admin
        } else if bool::from(public) {
            Scope::Public
        } else {
            return Err(Error::Forbidden(Denial::InvalidKey));
        };
        let mut fingerprint = [0; 8];
        fingerprint.copy_from_slice(&presented[..8]);
        Ok(Caller {
            scope,
            fingerprint,
            staff: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
    const PUBLIC: &str = "public-key-0123456789abcdef012345678";

    fn keys() -> ApiKeys {
        ApiKeys::new([ADMIN, " old-admin-key"], [PUBLIC])
    }

    #[test]
    fn the_three_header_forms_are_read() {
        for (auth, x) in [
            (Some(format!("Basic {ADMIN}")), None),
            (Some(format!("Bearer {ADMIN}")), None),
            (None, Some(ADMIN.to_owned())),
        ] {
            assert_eq!(
                Credential::from_headers(auth.as_deref(), x.as_deref()),
                Credential::Key(ADMIN.into())
            );
        }
        assert_eq!(
            Credential::from_headers(Some("Token x"), None),
            Credential::Malformed
        );
        assert_eq!(
            Credential::from_headers(Some("Basic a b"), None),
            Credential::Malformed
        );
        assert_eq!(
            Credential::from_headers(Some(""), None),
            Credential::Missing
        );
    }

    #[test]
    fn keys_map_to_scopes_and_failures_to_drf_answers() {
        let k = keys();
        let scope = |c: Credential| {
            k.authenticate(&c)
                .map(|c| c.scope())
                .map_err(|e| e.to_string())
        };
        assert_eq!(scope(Credential::Key(ADMIN.into())), Ok(Scope::Admin));
        assert_eq!(
            scope(Credential::Key("old-admin-key".into())),
            Ok(Scope::Admin)
        );
        assert_eq!(scope(Credential::Key(PUBLIC.into())), Ok(Scope::Public));
        assert_eq!(
            scope(Credential::Key("nope".into())),
            Err("Invalid API key.".into())
        );
        assert_eq!(
            scope(Credential::Missing),
            Err("Authentication credentials were not provided.".into())
        );
        assert_eq!(scope(Credential::Malformed), Err("Invalid API key.".into()));
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let caller = keys().authenticate(&Credential::Key(ADMIN.into()));
        let shown = format!("{caller:?} {:?}", Credential::Key(ADMIN.into()));
        assert!(!shown.contains(ADMIN), "{shown}");
    }
}
