//! Staff users and their sessions, under a lock of their own (never read with the data).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use exit3_core::{
    StaffId, StaffPatch, StaffUser, Timestamp, Username,
    access::PasswordHash,
    domain::NewStaffUser,
    store::{Conflict, SessionStore, StaffStore, StoreError, StoreResult},
    tokens::TokenHash,
};

use crate::{MemoryStore, lock};

/// The users by id, with their hashes, and the sessions by token hash.
#[derive(Debug, Default)]
pub(crate) struct Staff {
    users: BTreeMap<i64, (StaffUser, PasswordHash)>,
    last_id: i64,
    sessions: HashMap<[u8; 32], Session>,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    staff: i64,
    expires_at: Timestamp,
}

impl Staff {
    fn by_username(&self, username: &Username) -> Option<&(StaffUser, PasswordHash)> {
        let folded = username.folded();
        self.users
            .values()
            .find(|(u, _)| u.username.folded() == folded)
    }

    /// Removes up to `batch` sessions expired at `now`.
    pub(crate) fn purge(&mut self, now: Timestamp, batch: u32) -> u64 {
        let expired: Vec<[u8; 32]> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(k, _)| *k)
            .take(batch as usize)
            .collect();
        for key in &expired {
            self.sessions.remove(key);
        }
        expired.len() as u64
    }
}

#[async_trait]
impl StaffStore for MemoryStore {
    async fn create_staff(&self, user: &NewStaffUser, now: Timestamp) -> StoreResult<StaffUser> {
        let mut staff = lock(&self.staff);
        if staff.by_username(&user.username).is_some() {
            return Err(StoreError::Conflict {
                what: Conflict::StaffUsername,
            });
        }
        staff.last_id += 1;
        let id = StaffId::new(staff.last_id).ok_or_else(|| StoreError::other("id overflow"))?;
        let stored = StaffUser {
            id,
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            active: true,
            last_login: None,
            created_at: exit3_core::clock::truncate_to_micros(now),
        };
        staff
            .users
            .insert(id.get(), (stored.clone(), user.password.clone()));
        Ok(stored)
    }

    async fn staff_for_login(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(StaffUser, PasswordHash)>> {
        Ok(lock(&self.staff).by_username(username).cloned())
    }

    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<StaffUser>> {
        Ok(lock(&self.staff)
            .users
            .get(&id.get())
            .map(|(u, _)| u.clone()))
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffUser>> {
        let mut users: Vec<StaffUser> = lock(&self.staff)
            .users
            .values()
            .map(|(u, _)| u.clone())
            .collect();
        users.sort_by_key(|u| (u.username.folded(), u.id));
        Ok(users)
    }

    async fn update_staff(
        &self,
        id: StaffId,
        patch: &StaffPatch,
    ) -> StoreResult<Option<StaffUser>> {
        let mut staff = lock(&self.staff);
        let Some((user, hash)) = staff.users.get_mut(&id.get()) else {
            return Ok(None);
        };
        *user = patch.apply(user);
        if let Some(password) = &patch.password {
            *hash = password.clone();
        }
        let user = user.clone();
        if patch.ends_sessions() {
            staff.sessions.retain(|_, s| s.staff != id.get());
        }
        Ok(Some(user))
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn start_session(
        &self,
        staff_id: StaffId,
        token: TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        let mut staff = lock(&self.staff);
        let Some((user, _)) = staff
            .users
            .get_mut(&staff_id.get())
            .filter(|(u, _)| u.active)
        else {
            return Ok(None);
        };
        user.last_login = Some(exit3_core::clock::truncate_to_micros(now));
        let user = user.clone();
        staff.sessions.insert(
            token.0,
            Session {
                staff: staff_id.get(),
                expires_at,
            },
        );
        Ok(Some(user))
    }

    async fn session_user(
        &self,
        token: TokenHash,
        now: Timestamp,
        renew_until: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        let mut staff = lock(&self.staff);
        let Some(session) = staff.sessions.get(&token.0).copied() else {
            return Ok(None);
        };
        let user = staff
            .users
            .get(&session.staff)
            .map(|(u, _)| u.clone())
            .filter(|u| u.active);
        match user {
            Some(user) if session.expires_at > now => {
                if let Some(s) = staff.sessions.get_mut(&token.0) {
                    s.expires_at = renew_until;
                }
                Ok(Some(user))
            }
            _ => Ok(None),
        }
    }

    async fn end_session(&self, token: TokenHash) -> StoreResult<bool> {
        Ok(lock(&self.staff).sessions.remove(&token.0).is_some())
    }
}
