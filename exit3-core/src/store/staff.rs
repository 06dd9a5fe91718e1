//! The staff site's capabilities: its users, and their sessions.

use std::fmt::Debug;

use async_trait::async_trait;

use super::StoreResult;
use crate::{
    access::PasswordHash,
    clock::Timestamp,
    domain::{NewStaffUser, StaffId, StaffPatch, StaffUser, Username},
    tokens::TokenHash,
};

/// Staff users of the staff site.
#[async_trait]
pub trait StaffStore: Send + Sync + Debug + 'static {
    /// Stores a new staff user (active, never signed in, `created_at = now`) with a new
    /// id. A username another user has, compared case-insensitively, answers
    /// [`StoreError::Conflict`](super::StoreError::Conflict)`{ what: `[`Conflict::StaffUsername`](super::Conflict::StaffUsername)` }`.
    async fn create_staff(&self, user: &NewStaffUser, now: Timestamp) -> StoreResult<StaffUser>;

    /// The user whose username is `username` case-insensitively, with their password
    /// hash: what a sign-in checks.
    async fn staff_for_login(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(StaffUser, PasswordHash)>>;

    /// The user with `id`, or `None`.
    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<StaffUser>>;

    /// Every staff user, by username.
    async fn list_staff(&self) -> StoreResult<Vec<StaffUser>>;

    /// Applies `patch` atomically; when [`StaffPatch::ends_sessions`], every session of
    /// the user ends in the same call. `None` when there is no such user.
    async fn update_staff(&self, id: StaffId, patch: &StaffPatch)
    -> StoreResult<Option<StaffUser>>;
}

/// Staff sessions, kept in the store so that every instance knows them and signing
/// out is real. Only a token's hash is kept.
#[async_trait]
pub trait SessionStore: Send + Sync + Debug + 'static {
    /// Starts a session `token` for `staff` valid until `expires_at`, and records the
    /// sign-in as the user's `last_login = now`, atomically. `None` (and nothing
    /// stored) when the user does not exist or is not active.
    async fn start_session(
        &self,
        staff: StaffId,
        token: TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Option<StaffUser>>;

    /// The user of session `token` when the session has not expired at `now` and the
    /// user is active; the session's expiry moves to `renew_until` (idle expiry). `None`
    /// otherwise.
    async fn session_user(
        &self,
        token: TokenHash,
        now: Timestamp,
        renew_until: Timestamp,
    ) -> StoreResult<Option<StaffUser>>;

    /// Ends session `token`; `false` when there was none.
    async fn end_session(&self, token: TokenHash) -> StoreResult<bool>;
}
