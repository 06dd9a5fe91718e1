//! Staff users and their sessions (admin.md "Accounts and security"): sign-in with the
//! login throttle, sessions kept in the store, CSRF tokens bound to a session, and the
//! management of staff users (superusers on the site; the CLI, trusted, for the first).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{Exit3, RequestContext};
use crate::{
    access::{Caller, CheckedSession, Credential, NewPassword, Operation, PasswordHash},
    clock::Timestamp,
    domain::{NewStaffUser, StaffId, StaffPatch, StaffRole, StaffUser, Username},
    error::{Denial, Error, FieldErrors},
    text::EmailAddress,
    throttle::{Counted, ThrottleHit, ThrottleKey, ThrottleScope},
    tokens::{Purpose, SessionToken, TokenHash},
};

/// `SESSION_COOKIE_AGE`'s default: a session ends after 12 hours without a request.
pub const DEFAULT_SESSION_AGE: Duration = Duration::from_secs(12 * 3600);

/// A started session: what the frontend puts in its cookie, and whom it signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session's token (the cookie's value). Never logged.
    pub token: SessionToken,
    /// Who signed in.
    pub user: StaffUser,
    /// When the session ends unless it is used.
    pub expires_at: Timestamp,
}

/// A staff user to add: the raw fields, checked together.
#[derive(Debug, Clone)]
pub struct StaffInput<'a> {
    /// The username.
    pub username: &'a str,
    /// The address.
    pub email: &'a str,
    /// The role's name.
    pub role: StaffRole,
    /// The password, in clear.
    pub password: &'a str,
}

impl Exit3 {
    /// How long a staff session lasts without a request.
    pub fn session_age(&self) -> Duration {
        self.inner.session_age
    }

    /// Adds a staff user: every field error at once, a username another user has is a
    /// field error too. Trusted: for the `createsuperuser` command; the site calls
    /// [`Exit3::add_staff_as`].
    pub async fn add_staff(&self, input: StaffInput<'_>) -> Result<StaffUser, Error> {
        let mut errors = FieldErrors::default();
        let username = Username::parse(input.username)
            .map_err(|e| errors.merge(e))
            .ok();
        let email = EmailAddress::parse(input.email)
            .map_err(|e| errors.add("email", e.message()))
            .ok();
        let password = username.as_ref().and_then(|u| {
            NewPassword::parse(input.password, u)
                .map_err(|e| errors.merge(e))
                .ok()
        });
        let (Some(username), Some(email), Some(password)) = (username, email, password) else {
            return Err(errors.into());
        };
        let user = NewStaffUser {
            username,
            email,
            role: input.role,
            password: password.hash().await?,
        };
        Ok(self.inner.store.create_staff(&user, self.now()).await?)
    }

    /// [`Exit3::add_staff`] for a caller who may manage staff (a superuser).
    pub async fn add_staff_as(
        &self,
        ctx: &RequestContext,
        input: StaffInput<'_>,
    ) -> Result<StaffUser, Error> {
        self.admit(ctx, Operation::ManageStaff).await?;
        self.add_staff(input).await
    }

    /// Sets the password of the user named `username`, ending their sessions. Trusted:
    /// for the `changepassword` command.
    pub async fn set_staff_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<StaffUser, Error> {
        let username = Username::parse(username)?;
        let (user, _) = self
            .inner
            .store
            .staff_for_login(&username)
            .await?
            .ok_or(Error::NotFound)?;
        self.change_password(&user, password).await
    }

    /// Sets staff user `id`'s password, for a caller who may manage staff (a superuser on
    /// the site's staff page); their sessions end.
    pub async fn set_staff_password_as(
        &self,
        ctx: &RequestContext,
        id: StaffId,
        password: &str,
    ) -> Result<StaffUser, Error> {
        self.admit(ctx, Operation::ManageStaff).await?;
        let user = self
            .inner
            .store
            .get_staff(id)
            .await?
            .ok_or(Error::NotFound)?;
        self.change_password(&user, password).await
    }

    /// The password rule for `user`, the hash, and the change (which ends the sessions).
    async fn change_password(&self, user: &StaffUser, password: &str) -> Result<StaffUser, Error> {
        let patch = StaffPatch {
            password: Some(NewPassword::parse(password, &user.username)?.hash().await?),
            ..StaffPatch::default()
        };
        self.inner
            .store
            .update_staff(user.id, &patch)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Every staff user, for a caller who may manage staff.
    pub async fn list_staff(&self, ctx: &RequestContext) -> Result<Vec<StaffUser>, Error> {
        self.admit(ctx, Operation::ManageStaff).await?;
        Ok(self.inner.store.list_staff().await?)
    }

    /// Changes a staff user's role, address or active flag, or sets a new password,
    /// for a caller who may manage staff. A superuser cannot take their own superuser
    /// role or deactivate themselves (someone must be able to manage staff).
    pub async fn update_staff_as(
        &self,
        ctx: &RequestContext,
        id: StaffId,
        patch: StaffPatch,
    ) -> Result<StaffUser, Error> {
        let caller = self.admit(ctx, Operation::ManageStaff).await?;
        let is_self = caller.staff_identity().is_some_and(|s| s.id == id);
        if is_self
            && (patch.active == Some(false)
                || patch.role.is_some_and(|r| r != StaffRole::Superuser))
        {
            return Err(Error::Forbidden(Denial::PermissionDenied));
        }
        self.inner
            .store
            .update_staff(id, &patch)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Signs a staff user in. Unknown users, inactive users and wrong passwords all
    /// answer [`Error::BadLogin`] after the same work; each failure is counted per
    /// username and per client address, and once either is full the answer is
    /// [`Error::Throttled`] (scope `login_user` or `login_client`) before any password is
    /// checked. A success does not reset the counts.
    pub async fn login(
        &self,
        ctx: &RequestContext,
        username: &str,
        password: &str,
    ) -> Result<SignedIn, Error> {
        let name = Username::parse(username).ok();
        let hits = self.login_hits(ctx, name.as_ref());
        let checks: Vec<ThrottleHit> = hits
            .iter()
            .map(|h| ThrottleHit::check_only(h.key.clone(), h.rate))
            .collect();
        if !checks.is_empty() {
            self.decide(&checks).await?;
        }
        let found = match &name {
            Some(name) => self.inner.store.staff_for_login(name).await?,
            None => None,
        };
        let (user, hash) = match found {
            Some((user, hash)) if user.active => (Some(user), Some(hash)),
            _ => (None, None),
        };
        let verified = PasswordHash::verify(hash, password.to_owned()).await;
        let Some(user) = user.filter(|_| verified) else {
            if !hits.is_empty() {
                // Counted; a refusal here means the window filled meanwhile.
                let _ = self.inner.store.hit(&hits, self.now()).await?;
            }
            return Err(Error::BadLogin);
        };
        let token = SessionToken::generate();
        let now = self.now();
        let expires_at = now + self.inner.session_age;
        let user = self
            .inner
            .store
            .start_session(user.id, token.hash(), now, expires_at)
            .await?
            .ok_or(Error::BadLogin)?;
        Ok(SignedIn {
            token,
            user,
            expires_at,
        })
    }

    /// The login throttle's recorded hits for a failure.
    fn login_hits(&self, ctx: &RequestContext, name: Option<&Username>) -> Vec<ThrottleHit> {
        let client = Counted::client(ctx.origin.ip, self.inner.ipv6_prefix);
        let user = Counted::Username(name.map_or_else(String::new, Username::folded));
        [
            (ThrottleScope::LoginUser, user),
            (ThrottleScope::LoginClient, client),
        ]
        .into_iter()
        .filter_map(|(scope, who)| {
            self.inner
                .rates
                .get(scope)
                .map(|rate| ThrottleHit::new(ThrottleKey::new(scope, &who), rate))
        })
        .collect()
    }

    /// The active user of session `token`, renewing its idle expiry; `None` when the
    /// token is unknown, expired or its user inactive.
    pub async fn session_user(&self, token: &str) -> Result<Option<StaffUser>, Error> {
        let Some(hash) = SessionToken::hash_of(token) else {
            return Ok(None);
        };
        let now = self.now();
        Ok(self
            .inner
            .store
            .session_user(hash, now, now + self.inner.session_age)
            .await?)
    }

    /// The active user of session `token` (renewing it, as [`Exit3::session_user`]) with
    /// a [`Credential::Checked`] for the request's further
    /// calls, so that one page costs one session look-up however many calls it makes.
    pub async fn session(&self, token: &str) -> Result<Option<(StaffUser, Credential)>, Error> {
        Ok(self.session_user(token).await?.map(|user| {
            let caller = Caller::staff(&user);
            (user, Credential::Checked(CheckedSession(caller)))
        }))
    }

    /// The caller of a [`Credential::Session`](crate::Credential::Session): its staff
    /// user, or "not signed in".
    pub(super) async fn session_caller(&self, token: &str) -> Result<Caller, Error> {
        match self.session_user(token).await? {
            Some(user) => Ok(Caller::staff(&user)),
            None => Err(Error::Forbidden(Denial::NoCredentials)),
        }
    }

    /// Ends session `token` (signing out); unknown tokens are ignored.
    pub async fn logout(&self, token: &str) -> Result<(), Error> {
        if let Some(hash) = SessionToken::hash_of(token) {
            self.inner.store.end_session(hash).await?;
        }
        Ok(())
    }

    /// The CSRF token of the forms of session `token`: the session's hash, signed, so
    /// that it needs no storage, changes with every session and cannot be made without
    /// `SECRET_KEY`. A token that cannot be a session's gets one that never verifies.
    pub fn csrf_token(&self, session: &str) -> String {
        let hash = SessionToken::hash_of(session).unwrap_or(TokenHash([0; 32]));
        URL_SAFE_NO_PAD.encode(self.inner.secrets.sign(Purpose::Csrf, &hash.0))
    }

    /// Whether `csrf` is session `token`'s CSRF token (under any of the signing keys).
    pub fn check_csrf(&self, session: &str, csrf: &str) -> bool {
        let (Some(hash), Ok(signature)) = (
            SessionToken::hash_of(session),
            URL_SAFE_NO_PAD.decode(csrf.trim()),
        ) else {
            return false;
        };
        self.inner
            .secrets
            .verify(Purpose::Csrf, &hash.0, &signature)
    }
}
