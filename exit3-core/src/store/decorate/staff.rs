//! [`Decorated`]'s forwarding of the staff capabilities.

use async_trait::async_trait;

use super::Decorated;
use crate::{
    access::PasswordHash,
    clock::Timestamp,
    domain::{NewStaffUser, StaffId, StaffPatch, StaffUser, Username},
    store::{SessionStore, StaffStore, StoreCall, StoreHook, StoreResult},
    tokens::TokenHash,
};

#[async_trait]
impl<H: StoreHook> StaffStore for Decorated<H> {
    async fn create_staff(&self, user: &NewStaffUser, now: Timestamp) -> StoreResult<StaffUser> {
        self.run(StoreCall::CreateStaff, self.inner.create_staff(user, now))
            .await
    }
    async fn staff_for_login(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(StaffUser, PasswordHash)>> {
        self.run(
            StoreCall::StaffForLogin,
            self.inner.staff_for_login(username),
        )
        .await
    }
    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<StaffUser>> {
        self.run(StoreCall::GetStaff, self.inner.get_staff(id))
            .await
    }
    async fn list_staff(&self) -> StoreResult<Vec<StaffUser>> {
        self.run(StoreCall::ListStaff, self.inner.list_staff())
            .await
    }
    async fn update_staff(
        &self,
        id: StaffId,
        patch: &StaffPatch,
    ) -> StoreResult<Option<StaffUser>> {
        self.run(StoreCall::UpdateStaff, self.inner.update_staff(id, patch))
            .await
    }
}

#[async_trait]
impl<H: StoreHook> SessionStore for Decorated<H> {
    async fn start_session(
        &self,
        staff: StaffId,
        token: TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        self.run(
            StoreCall::StartSession,
            self.inner.start_session(staff, token, now, expires_at),
        )
        .await
    }
    async fn session_user(
        &self,
        token: TokenHash,
        now: Timestamp,
        renew_until: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        self.run(
            StoreCall::SessionUser,
            self.inner.session_user(token, now, renew_until),
        )
        .await
    }
    async fn end_session(&self, token: TokenHash) -> StoreResult<bool> {
        self.run(StoreCall::EndSession, self.inner.end_session(token))
            .await
    }
}
