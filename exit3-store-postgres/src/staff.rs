//! Staff users and sessions: one statement per call; a patch that ends sessions deletes
//! them in the same statement.

use async_trait::async_trait;
use exit3_core::{
    StaffId, StaffPatch, StaffRole, StaffUser, Timestamp, Username,
    access::PasswordHash,
    domain::NewStaffUser,
    store::{Conflict, SessionStore, StaffStore, StoreError, StoreResult},
    text::EmailAddress,
    tokens::TokenHash,
};
use sqlx::FromRow;

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx, is_unique_violation},
};

const COLUMNS: &str = "id, username, email, role, active, last_login, created_at";

#[derive(Debug, FromRow)]
struct StaffRow {
    id: i64,
    username: String,
    email: String,
    role: String,
    active: bool,
    last_login: Option<Timestamp>,
    created_at: Timestamp,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;

    fn try_from(r: StaffRow) -> Result<Self, Self::Error> {
        Ok(StaffUser {
            id: StaffId::new(r.id).ok_or_else(|| corrupt("staff id", r.id))?,
            username: Username::parse(&r.username).map_err(|_| corrupt("username", &r.username))?,
            email: EmailAddress::parse(&r.email).map_err(|_| corrupt("staff e-mail", &r.email))?,
            role: r
                .role
                .parse::<StaffRole>()
                .map_err(|_| corrupt("staff role", &r.role))?,
            active: r.active,
            last_login: r.last_login,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: StaffRow,
    password_hash: String,
}

fn one(row: Option<StaffRow>) -> StoreResult<Option<StaffUser>> {
    row.map(StaffUser::try_from).transpose()
}

#[async_trait]
impl StaffStore for PostgresStore {
    async fn create_staff(&self, user: &NewStaffUser, now: Timestamp) -> StoreResult<StaffUser> {
        let row: StaffRow = sqlx::query_as(&format!(
            "INSERT INTO staff_users (username, username_folded, email, role, password_hash, \
                                      created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(user.username.as_str())
        .bind(user.username.folded())
        .bind(user.email.as_str())
        .bind(user.role.as_str())
        .bind(user.password.as_str())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "staff_users_username_folded_key") {
                StoreError::Conflict {
                    what: Conflict::StaffUsername,
                }
            } else {
                from_sqlx(e)
            }
        })?;
        row.try_into()
    }

    async fn staff_for_login(
        &self,
        username: &Username,
    ) -> StoreResult<Option<(StaffUser, PasswordHash)>> {
        let row: Option<LoginRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS}, password_hash FROM staff_users WHERE username_folded = $1"
        ))
        .bind(username.folded())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        row.map(|r| {
            let hash = PasswordHash::from_stored(r.password_hash)
                .ok_or_else(|| corrupt("password hash", "that is not a PHC string"))?;
            Ok((StaffUser::try_from(r.user)?, hash))
        })
        .transpose()
    }

    async fn get_staff(&self, id: StaffId) -> StoreResult<Option<StaffUser>> {
        let row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM staff_users WHERE id = $1"))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        one(row)
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffUser>> {
        let rows: Vec<StaffRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM staff_users ORDER BY username_folded, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        rows.into_iter().map(StaffUser::try_from).collect()
    }

    async fn update_staff(
        &self,
        id: StaffId,
        patch: &StaffPatch,
    ) -> StoreResult<Option<StaffUser>> {
        let row = sqlx::query_as(&format!(
            "WITH u AS ( \
                 UPDATE staff_users SET \
                     email = coalesce($2, email), role = coalesce($3, role), \
                     active = coalesce($4, active), \
                     password_hash = coalesce($5, password_hash) \
                 WHERE id = $1 RETURNING {COLUMNS} \
             ), s AS ( \
                 DELETE FROM staff_sessions WHERE $6 AND staff_id IN (SELECT id FROM u) \
             ) \
             SELECT {COLUMNS} FROM u"
        ))
        .bind(id.get())
        .bind(patch.email.as_ref().map(EmailAddress::as_str))
        .bind(patch.role.map(StaffRole::as_str))
        .bind(patch.active)
        .bind(patch.password.as_ref().map(PasswordHash::as_str))
        .bind(patch.ends_sessions())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        one(row)
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn start_session(
        &self,
        staff: StaffId,
        token: TokenHash,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        let row = sqlx::query_as(&format!(
            "WITH u AS ( \
                 UPDATE staff_users SET last_login = $3 WHERE id = $1 AND active \
                 RETURNING {COLUMNS} \
             ), s AS ( \
                 INSERT INTO staff_sessions (token_hash, staff_id, expires_at) \
                 SELECT $2, id, $4 FROM u \
             ) \
             SELECT {COLUMNS} FROM u"
        ))
        .bind(staff.get())
        .bind(token.0.as_slice())
        .bind(now)
        .bind(expires_at)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        one(row)
    }

    async fn session_user(
        &self,
        token: TokenHash,
        now: Timestamp,
        renew_until: Timestamp,
    ) -> StoreResult<Option<StaffUser>> {
        let row = sqlx::query_as(&format!(
            "WITH s AS ( \
                 UPDATE staff_sessions SET expires_at = $3 \
                 WHERE token_hash = $1 AND expires_at > $2 \
                   AND staff_id IN (SELECT id FROM staff_users WHERE active) \
                 RETURNING staff_id \
             ) \
             SELECT {COLUMNS} FROM staff_users WHERE id = (SELECT staff_id FROM s)"
        ))
        .bind(token.0.as_slice())
        .bind(now)
        .bind(renew_until)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        one(row)
    }

    async fn end_session(&self, token: TokenHash) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(token.0.as_slice())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }
}

impl PostgresStore {
    /// Purges up to `batch` expired sessions.
    pub(crate) async fn purge_sessions_batch(
        &self,
        now: Timestamp,
        batch: i64,
    ) -> sqlx::Result<u64> {
        self.purge_expired("staff_sessions", "token_hash", now, batch)
            .await
    }
}
