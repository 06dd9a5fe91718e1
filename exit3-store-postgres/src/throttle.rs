//! Exact sliding-window throttling in the database.
//!
//! Per key, `throttle_slots` holds a ring of the last `cap` accepted times and
//! `throttle_keys` a head row: the ring's `cap` (the rate's limit), the slot the next
//! time goes to (`head`), how many slots are `filled`, the `newest` time and when the
//! key `expires_at`. When the ring is full the slot at `head` holds the `cap`-th most
//! recent accepted time — the one [`Window`](exit3_core::throttle::Window) compares —
//! so a decision reads one slot and writes one, whatever the limit.
//!
//! A decision is one call of the SQL function `exit3_throttle_hit` (migrations
//! `20261201000000_throttle_hit_function.sql` and `20261201000200_throttle_check_only.sql`,
//! whose check-only hits are decided but never recorded): one statement, so one round
//! trip and one transaction, in which the key rows are created if missing and locked in key order
//! (two calls sharing keys cannot deadlock), every key decides, and either every key
//! records the request or nothing is recorded. Its commit does not wait for the WAL
//! flush: throttle records are soft state (see the migration).

use async_trait::async_trait;
use exit3_core::{
    StoreError, ThrottleDecision, ThrottleHit, Timestamp,
    clock::to_micros,
    store::{Maintenance, StoreResult, ThrottleStore},
    throttle::{Rate, retry_after_secs},
};

use sqlx::Row as _;

use sqlx::PgPool;

use crate::{
    PostgresStore,
    checked::{CHANNEL, Checks},
    error::from_sqlx,
    throttle_batch::HitJob,
};

/// The most expired keys one statement of [`PostgresStore::purge_expired_throttle_state`]
/// removes.
const PURGE_BATCH: u32 = 1000;
/// How often a call that met a deadlock or a concurrently purged key is tried again.
pub(crate) const ATTEMPTS: usize = 5;

pub(crate) fn limit_of(rate: Rate) -> i32 {
    i32::try_from(rate.limit()).unwrap_or(i32::MAX)
}

/// One attempt at one request's decision: one statement (a batch that failed is
/// decided again this way, a request at a time).
pub(crate) async fn try_hit(
    pool: &PgPool,
    checks: &Checks,
    hits: &[ThrottleHit],
    now: i64,
) -> Result<ThrottleDecision, sqlx::Error> {
    let keys: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
    let limits: Vec<i32> = hits.iter().map(|h| limit_of(h.rate)).collect();
    let periods: Vec<i64> = hits.iter().map(|h| h.rate.period_micros()).collect();
    let records: Vec<bool> = hits.iter().map(ThrottleHit::records).collect();
    // Recorded keys of checked scopes are announced in the same transaction (a
    // `NOTIFY` is sent at its commit) to every store's check cache.
    let notes = checks.recorded.announce(hits, now);
    let sql = if notes.is_empty() {
        "SELECT exit3_throttle_hit($1::text[], $2::int4[], $3::int8[], $4::bool[], $5)"
    } else {
        "SELECT exit3_throttle_hit($1::text[], $2::int4[], $3::int8[], $4::bool[], $5), \
                (SELECT count(*) FROM (SELECT pg_notify($6, n) \
                                       FROM unnest($7::text[]) AS n) AS sent)"
    };
    let mut query = sqlx::query(sql)
        .bind(&keys)
        .bind(&limits)
        .bind(&periods)
        .bind(&records)
        .bind(now);
    if !notes.is_empty() {
        query = query.bind(CHANNEL).bind(&notes);
    }
    let row = query.fetch_one(pool).await?;
    let refused: Option<Vec<i64>> = row.try_get(0)?;
    Ok(match refused.as_deref() {
        None => ThrottleDecision::Accepted,
        Some(&[hit, wait]) => ThrottleDecision::Refused {
            retry_after: retry_after_secs(wait),
            hit: usize::try_from(hit).unwrap_or(0),
        },
        Some(other) => {
            return Err(sqlx::Error::Protocol(format!(
                "exit3_throttle_hit answered {other:?}"
            )));
        }
    })
}

impl PostgresStore {
    /// Removes up to `batch` throttle keys (with their slots) whose newest accepted time
    /// has left its window at `now`: they can no longer affect a decision. Keys that a
    /// concurrent call holds are skipped, never waited for.
    async fn purge_batch(&self, now: i64, batch: i64) -> Result<u64, sqlx::Error> {
        // The slots go with their key, in the same statement, under the key's lock.
        let (done,): (i64,) = sqlx::query_as(
            "WITH gone AS (
                 DELETE FROM throttle_keys WHERE key IN (
                     SELECT key FROM throttle_keys WHERE expires_at <= $1
                     ORDER BY expires_at LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 RETURNING key
             ), slots AS (
                 DELETE FROM throttle_slots s USING gone WHERE s.key = gone.key
             )
             SELECT count(*) FROM gone",
        )
        .bind(now)
        .bind(batch)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(done).unwrap_or(0))
    }

    /// Removes every throttle key that can no longer affect a decision at `now` (its
    /// newest accepted time has left its window), and answers how many went: what the
    /// maintenance task does in batches, at once.
    pub async fn purge_expired_throttle_state(&self, now: Timestamp) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let n = self.purge_throttle(now, PURGE_BATCH).await?;
            total += n;
            if n < u64::from(PURGE_BATCH) {
                return Ok(total);
            }
        }
    }

    /// How many throttle keys the database holds (for monitoring and tests).
    pub async fn throttle_key_count(&self) -> StoreResult<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM throttle_keys")
            .fetch_one(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl Maintenance for PostgresStore {
    async fn purge_throttle(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.checks.recorded.forget_expired(to_micros(now));
        self.purge_batch(to_micros(now), i64::from(batch))
            .await
            .map_err(from_sqlx)
    }

    async fn compact_counts(&self) -> StoreResult<()> {
        self.fold_lead_counts().await
    }

    async fn purge_idempotency(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.purge_idempotency_batch(now, i64::from(batch))
            .await
            .map_err(from_sqlx)
    }

    async fn purge_sessions(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.purge_sessions_batch(now, i64::from(batch))
            .await
            .map_err(from_sqlx)
    }

    async fn retain(
        &self,
        step: exit3_core::privacy::RetentionStep,
        before: Timestamp,
        batch: u32,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.retain_batch(step, before, batch, now).await
    }
}

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision> {
        if hits.is_empty() {
            return Ok(ThrottleDecision::Accepted);
        }
        distinct(hits)?;
        // Only checks (a valid key's `failed_auth`, on every admin request): a key this
        // store knows to hold nothing refuses nothing (no round trip, `checked.rs`); else
        // a key without a row — one index probe instead of the function, which a key
        // with a row still gets.
        if hits.iter().all(|h| !h.records()) {
            if self.checks.recorded.all_clear(hits, to_micros(now)) {
                return Ok(ThrottleDecision::Accepted);
            }
            let keys: Vec<&str> = hits.iter().map(|h| h.key.as_str()).collect();
            let known: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM throttle_keys WHERE key = ANY ($1) LIMIT 1")
                    .bind(&keys)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(from_sqlx)?;
            if known.is_none() {
                return Ok(ThrottleDecision::Accepted);
            }
        }
        // With the decisions arriving at the same moment, in one statement
        // (`throttle_batch.rs`).
        let (job, kept) = self.hit_job(hits, now);
        let decision = self.hits.submit(job).await.unwrap_or_else(|| {
            Err(StoreError::other(
                "the batch deciding the request ended without an answer",
            ))
        })?;
        Ok(in_caller_terms(decision, &kept))
    }
}

impl PostgresStore {
    /// The hits of a request that records, as its batch decides them, and where each
    /// came from in `hits`. A check of a key this store knows to hold nothing refuses
    /// nothing (a public create's `failed_auth`): it is left out.
    pub(crate) fn hit_job(&self, hits: &[ThrottleHit], now: Timestamp) -> (HitJob, Vec<usize>) {
        let now = to_micros(now);
        let kept: Vec<usize> = (0..hits.len())
            .filter(|&i| hits[i].records() || !self.checks.recorded.all_clear(&hits[i..=i], now))
            .collect();
        let job = HitJob {
            hits: kept.iter().map(|&i| hits[i].clone()).collect(),
            now,
        };
        (job, kept)
    }
}

/// A batch's `decision` on the `kept` hits of a request, as its caller counts them: a
/// refusal's place in the caller's hits.
pub(crate) fn in_caller_terms(decision: ThrottleDecision, kept: &[usize]) -> ThrottleDecision {
    match decision {
        ThrottleDecision::Refused { retry_after, hit } => ThrottleDecision::Refused {
            retry_after,
            hit: kept.get(hit).copied().unwrap_or(hit),
        },
        accepted => accepted,
    }
}

/// Whether `hits` are a valid call: the function locks each key once, so a repeated key
/// is a caller's bug.
pub(crate) fn distinct(hits: &[ThrottleHit]) -> StoreResult<()> {
    if hits
        .iter()
        .enumerate()
        .any(|(i, h)| hits[..i].iter().any(|e| e.key == h.key))
    {
        return Err(StoreError::other(
            "the throttle keys of one call must be distinct",
        ));
    }
    Ok(())
}
