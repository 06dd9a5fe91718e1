//! Idempotency records: a key is taken with one `INSERT … ON CONFLICT`, so that of two
//! instances beginning one key at once exactly one starts it.

use async_trait::async_trait;
use exit3_core::{
    Timestamp,
    idempotency::{Begun, Fingerprint, Record, RecordKey, StoredAnswer},
    store::{IdempotencyStore, StoreResult},
};
use sqlx::FromRow;

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
};

#[derive(Debug, FromRow)]
struct RecordRow {
    fingerprint: Vec<u8>,
    status: Option<i16>,
    body: Option<String>,
    locked_until: Timestamp,
    expires_at: Timestamp,
}

impl TryFrom<RecordRow> for Record {
    type Error = exit3_core::StoreError;

    fn try_from(r: RecordRow) -> Result<Self, Self::Error> {
        let fingerprint = <[u8; 32]>::try_from(r.fingerprint.as_slice())
            .map_err(|_| corrupt("idempotency fingerprint", "of the wrong length"))?;
        let answer = match (r.status, r.body) {
            (Some(status), Some(body)) => Some(StoredAnswer {
                status: u16::try_from(status).map_err(|_| corrupt("idempotency status", status))?,
                body,
            }),
            _ => None,
        };
        Ok(Record {
            fingerprint: Fingerprint(fingerprint),
            answer,
            locked_until: r.locked_until,
            expires_at: r.expires_at,
        })
    }
}

impl PostgresStore {
    /// Purges up to `batch` expired records.
    pub(crate) async fn purge_idempotency_batch(
        &self,
        now: Timestamp,
        batch: i64,
    ) -> sqlx::Result<u64> {
        self.purge_expired("idempotency_keys", "key", now, batch)
            .await
    }

    /// Deletes up to `batch` rows of `table` (by its key column `key`) whose `expires_at`
    /// has passed at `now`, skipping rows another statement holds.
    pub(crate) async fn purge_expired(
        &self,
        table: &str,
        key: &str,
        now: Timestamp,
        batch: i64,
    ) -> sqlx::Result<u64> {
        let done = sqlx::query(&format!(
            "DELETE FROM {table} WHERE {key} IN ( \
                 SELECT {key} FROM {table} WHERE expires_at <= $1 \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        ))
        .bind(now)
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn begin_idempotent(
        &self,
        key: RecordKey,
        fingerprint: Fingerprint,
        now: Timestamp,
        locked_until: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Begun> {
        // Taken when new, expired, or (same request) left running past its lease: the
        // rule of `Record::begin`, in the conflict's condition.
        let started: Option<bool> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys AS r (key, fingerprint, locked_until, expires_at) \
             VALUES ($1, $2, $4, $5) \
             ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
                 status = NULL, body = NULL, locked_until = EXCLUDED.locked_until, \
                 expires_at = EXCLUDED.expires_at \
             WHERE r.expires_at <= $3 \
                OR (r.fingerprint = EXCLUDED.fingerprint AND r.status IS NULL \
                    AND r.locked_until <= $3) \
             RETURNING true",
        )
        .bind(key.0.as_slice())
        .bind(fingerprint.0.as_slice())
        .bind(now)
        .bind(locked_until)
        .bind(expires_at)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        if started.is_some() {
            return Ok(Begun::Started);
        }
        let row: Option<RecordRow> = sqlx::query_as(
            "SELECT fingerprint, status, body, locked_until, expires_at \
             FROM idempotency_keys WHERE key = $1",
        )
        .bind(key.0.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        // Gone or takeable since the insert looked: another request is moving it on;
        // the client's retry will find out.
        Ok(match row.map(Record::try_from).transpose()? {
            Some(record) => match record.begin(fingerprint, now) {
                Begun::Started => Begun::Running,
                found => found,
            },
            None => Begun::Running,
        })
    }

    async fn finish_idempotent(&self, key: RecordKey, answer: &StoredAnswer) -> StoreResult<()> {
        sqlx::query("UPDATE idempotency_keys SET status = $2, body = $3 WHERE key = $1")
            .bind(key.0.as_slice())
            .bind(i16::try_from(answer.status).unwrap_or(500))
            .bind(&answer.body)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn release_idempotent(&self, key: RecordKey) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND status IS NULL")
            .bind(key.0.as_slice())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }
}
