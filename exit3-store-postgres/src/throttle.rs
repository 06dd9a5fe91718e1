//! Exact sliding-window throttling in the database.
//!
//! Per key, `throttle_slots` holds a ring of the last `cap` accepted times and
//! `throttle_keys` a head row: the ring's `cap` (the rate's limit), the slot the next
//! time goes to (`head`), how many slots are `filled`, the `newest` time and when the
//! key `expires_at`. When the ring is full the slot at `head` holds the `cap`-th most
//! recent accepted time — the one [`Window`](exit3_core::throttle::Window) compares —
//! so a decision reads one slot and writes one, whatever the limit.
//!
//! One call is one transaction: one upsert creates the missing key rows and locks them
//! all in key order (so that two calls sharing keys cannot deadlock), a second
//! statement reads the oldest slot of each full ring, every key decides, and either
//! every key records the request (one statement) or the transaction is rolled back.

use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::Ordering as AtomicOrdering,
};

use async_trait::async_trait;
use exit3_core::{
    ThrottleDecision, ThrottleHit, Timestamp,
    clock::to_micros,
    store::{StoreResult, ThrottleStore},
    throttle::{Rate, retry_after_secs},
};
use sqlx::{FromRow, PgConnection};

use crate::{
    PostgresStore,
    error::{from_sqlx, is_retryable},
};

/// Every this many `hit` calls, a store removes a batch of expired keys.
const PURGE_EVERY: u64 = 64;
/// The most expired keys one purge removes (more than `PURGE_EVERY` calls can create, so
/// the table stays bounded by the keys active within their window).
const PURGE_BATCH: i64 = 1000;
/// How often a call that met a deadlock or a concurrently purged key is tried again.
const ATTEMPTS: usize = 5;

#[derive(Debug, FromRow)]
struct HeadRow {
    key: String,
    cap: i32,
    head: i32,
    filled: i32,
    newest: i64,
    expires_at: i64,
    /// The time in the slot at `head`: the oldest kept when the ring is full.
    oldest: Option<i64>,
}

/// One key's state during a call.
#[derive(Debug)]
struct KeyState {
    head: HeadRow,
    /// The whole ring, oldest first, when it had to be rebuilt for a changed limit; it
    /// is then written back whole.
    ring: Option<Vec<i64>>,
    /// Slots to write: slot → time.
    writes: BTreeMap<i32, i64>,
}

fn limit_of(rate: Rate) -> i32 {
    i32::try_from(rate.limit()).unwrap_or(i32::MAX)
}

impl KeyState {
    /// Whether a request at `now` is accepted under `rate`: the rule of
    /// [`Window::check_micros`](exit3_core::throttle::Window::check_micros).
    fn check(&self, rate: Rate, now: i64) -> Result<(), std::time::Duration> {
        let limit = limit_of(rate);
        let oldest = match &self.ring {
            Some(ring) => {
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                if ring.len() < limit {
                    return Ok(());
                }
                ring[ring.len() - limit]
            }
            None => {
                if self.head.filled < limit {
                    return Ok(());
                }
                // filled == cap == limit: the slot at head is the limit-th most recent.
                self.head.oldest.unwrap_or(i64::MIN)
            }
        };
        let leaves_at = oldest.saturating_add(rate.period_micros());
        if leaves_at <= now {
            Ok(())
        } else {
            Err(retry_after_secs(leaves_at - now))
        }
    }

    /// Records an accepted request at `now` under `rate`.
    fn record(&mut self, rate: Rate, now: i64) {
        match &mut self.ring {
            Some(ring) => {
                ring.push(now);
                let cap = usize::try_from(self.head.cap).unwrap_or(1);
                if ring.len() > cap {
                    ring.drain(..ring.len() - cap);
                }
            }
            None => {
                self.writes.insert(self.head.head, now);
                self.head.head = (self.head.head + 1) % self.head.cap;
                self.head.filled = (self.head.filled + 1).min(self.head.cap);
            }
        }
        self.head.newest = self.head.newest.max(now);
        self.head.expires_at = self.head.newest.saturating_add(rate.period_micros());
    }

    /// Loads the whole ring and re-sizes it for `cap`, keeping the newest times. Only
    /// when a key's limit changed (a new setting): O(old limit), once.
    async fn resize(&mut self, conn: &mut PgConnection, cap: i32) -> Result<(), sqlx::Error> {
        let mut ring = match self.ring.take() {
            Some(ring) => ring,
            None => {
                let slots: Vec<(i32, i64)> =
                    sqlx::query_as("SELECT slot, at FROM throttle_slots WHERE key = $1")
                        .bind(&self.head.key)
                        .fetch_all(&mut *conn)
                        .await?;
                let slots: HashMap<i32, i64> = slots.into_iter().collect();
                // Oldest first: from head when full, from 0 otherwise.
                let start = if self.head.filled == self.head.cap {
                    self.head.head
                } else {
                    0
                };
                (0..self.head.filled)
                    .filter_map(|i| slots.get(&((start + i) % self.head.cap)).copied())
                    .collect()
            }
        };
        let keep = usize::try_from(cap).unwrap_or(1);
        if ring.len() > keep {
            ring.drain(..ring.len() - keep);
        }
        self.head.cap = cap;
        self.ring = Some(ring);
        Ok(())
    }
}

impl PostgresStore {
    /// One attempt at a decision; `None` when the key rows did not all come back (which
    /// should not happen) and the call must be tried again.
    async fn try_hit(
        &self,
        hits: &[ThrottleHit],
        now: i64,
    ) -> Result<Option<ThrottleDecision>, sqlx::Error> {
        // Sorted, distinct keys, each with the limit of its first hit.
        let mut limits: BTreeMap<&str, i32> = BTreeMap::new();
        for hit in hits {
            limits.entry(hit.key.as_str()).or_insert(limit_of(hit.rate));
        }
        let keys: Vec<&str> = limits.keys().copied().collect();
        let caps: Vec<i32> = limits.values().copied().collect();

        let mut tx = self.pool.begin().await?;
        // Creates the missing key rows and locks them all, in key order. The no-op
        // DO UPDATE takes the row lock and returns the row as the lock holder left it.
        let mut heads: Vec<HeadRow> = sqlx::query_as(
            "INSERT INTO throttle_keys AS k (key, cap, head, filled, newest, expires_at)
             SELECT u.k, u.c, 0, 0, $3, $3
             FROM unnest($1::text[], $2::int4[]) AS u(k, c) ORDER BY u.k
             ON CONFLICT (key) DO UPDATE SET cap = k.cap
             RETURNING k.key, k.cap, k.head, k.filled, k.newest, k.expires_at,
                       NULL::int8 AS oldest",
        )
        .bind(&keys)
        .bind(&caps)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if heads.len() != keys.len() {
            tx.rollback().await?;
            return Ok(None);
        }
        // The oldest time of each full ring, read after the locks are held (a new
        // statement, so a new snapshot: it sees every earlier holder's writes).
        let full: Vec<(String, i32)> = heads
            .iter()
            .filter(|h| h.filled >= h.cap)
            .map(|h| (h.key.clone(), h.head))
            .collect();
        if !full.is_empty() {
            let (full_keys, full_slots): (Vec<String>, Vec<i32>) = full.into_iter().unzip();
            let oldest: Vec<(String, i64)> = sqlx::query_as(
                "SELECT s.key, s.at FROM throttle_slots s
                 JOIN unnest($1::text[], $2::int4[]) AS u(k, slot)
                   ON s.key = u.k AND s.slot = u.slot",
            )
            .bind(&full_keys)
            .bind(&full_slots)
            .fetch_all(&mut *tx)
            .await?;
            let oldest: HashMap<String, i64> = oldest.into_iter().collect();
            for head in &mut heads {
                head.oldest = oldest.get(&head.key).copied();
            }
        }
        let mut states: HashMap<String, KeyState> = heads
            .into_iter()
            .map(|head| {
                let state = KeyState {
                    head,
                    ring: None,
                    writes: BTreeMap::new(),
                };
                (state.head.key.clone(), state)
            })
            .collect();

        // Decide every hit on the state before this request.
        // The longest wait among refusing hits, with the first such hit.
        let mut refusal: Option<(std::time::Duration, usize)> = None;
        for (i, hit) in hits.iter().enumerate() {
            let Some(state) = states.get_mut(&hit.key) else {
                continue;
            };
            let limit = limit_of(hit.rate);
            if state.head.cap != limit {
                state.resize(&mut tx, limit).await?;
            }
            if let Err(wait) = state.check(hit.rate, now)
                && refusal.is_none_or(|(longest, _)| wait > longest)
            {
                refusal = Some((wait, i));
            }
        }
        if let Some((retry_after, hit)) = refusal {
            // Nothing is recorded anywhere, not even a re-sized ring.
            tx.rollback().await?;
            return Ok(Some(ThrottleDecision::Refused { retry_after, hit }));
        }

        // Record in every key.
        for hit in hits {
            if let Some(state) = states.get_mut(&hit.key) {
                state.record(hit.rate, now);
            }
        }
        let mut rebuilt = Vec::new();
        let (mut slot_keys, mut slots, mut slot_times) = (Vec::new(), Vec::new(), Vec::new());
        let mut heads = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for state in states.values_mut() {
            if let Some(ring) = state.ring.take() {
                rebuilt.push(state.head.key.clone());
                let filled = i32::try_from(ring.len()).unwrap_or(i32::MAX);
                for (slot, at) in (0..).zip(ring) {
                    state.writes.insert(slot, at);
                }
                state.head.filled = filled;
                state.head.head = filled % state.head.cap;
            }
            for (&slot, &at) in &state.writes {
                slot_keys.push(state.head.key.clone());
                slots.push(slot);
                slot_times.push(at);
            }
            heads.0.push(state.head.key.clone());
            heads.1.push(state.head.cap);
            heads.2.push(state.head.head);
            heads.3.push(state.head.filled);
            heads.4.push(state.head.newest);
            heads.5.push(state.head.expires_at);
        }
        if !rebuilt.is_empty() {
            sqlx::query("DELETE FROM throttle_slots WHERE key = ANY($1::text[])")
                .bind(&rebuilt)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "WITH w AS (
                 INSERT INTO throttle_slots (key, slot, at)
                 SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[])
                 ON CONFLICT (key, slot) DO UPDATE SET at = excluded.at
             )
             UPDATE throttle_keys k
             SET cap = u.cap, head = u.head, filled = u.filled, newest = u.newest,
                 expires_at = u.expires_at
             FROM unnest($4::text[], $5::int4[], $6::int4[], $7::int4[], $8::int8[], $9::int8[])
                  AS u(key, cap, head, filled, newest, expires_at)
             WHERE k.key = u.key",
        )
        .bind(&slot_keys)
        .bind(&slots)
        .bind(&slot_times)
        .bind(&heads.0)
        .bind(&heads.1)
        .bind(&heads.2)
        .bind(&heads.3)
        .bind(&heads.4)
        .bind(&heads.5)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(ThrottleDecision::Accepted))
    }

    /// Removes up to `batch` throttle keys (with their slots) whose newest accepted time
    /// has left its window at `now`: they can no longer affect a decision. Keys that a
    /// concurrent call holds are skipped, never waited for.
    async fn purge_batch(&self, now: i64, batch: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM throttle_keys WHERE key IN (
                 SELECT key FROM throttle_keys WHERE expires_at <= $1
                 ORDER BY expires_at LIMIT $2
                 FOR UPDATE SKIP LOCKED)",
        )
        .bind(now)
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Removes every throttle key that can no longer affect a decision at `now` (its
    /// newest accepted time has left its window), and answers how many went. `hit`
    /// already does this in small batches every so often; call this to tidy up at once.
    pub async fn purge_expired_throttle_state(&self, now: Timestamp) -> StoreResult<u64> {
        let now = to_micros(now);
        let mut total = 0;
        loop {
            let n = self
                .purge_batch(now, PURGE_BATCH)
                .await
                .map_err(from_sqlx)?;
            total += n;
            if n < u64::try_from(PURGE_BATCH).unwrap_or(0) {
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
impl ThrottleStore for PostgresStore {
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision> {
        if hits.is_empty() {
            return Ok(ThrottleDecision::Accepted);
        }
        let now = to_micros(now);
        let mut attempt = 1;
        let decision = loop {
            match self.try_hit(hits, now).await {
                Ok(Some(decision)) => break decision,
                Ok(None) if attempt < ATTEMPTS => {}
                Ok(None) => {
                    return Err(exit3_core::Error::internal(
                        "throttle key rows kept missing after their upsert",
                    ));
                }
                Err(e) if is_retryable(&e) && attempt < ATTEMPTS => {}
                Err(e) => return Err(from_sqlx(e)),
            }
            attempt += 1;
        };
        if self.throttle_calls.fetch_add(1, AtomicOrdering::Relaxed) % PURGE_EVERY
            == PURGE_EVERY - 1
        {
            // Best effort: a failure here leaves the keys for a later purge.
            let _ = self.purge_batch(now, PURGE_BATCH).await;
        }
        Ok(decision)
    }
}
