//! The outbox: messages written in the transaction of the change that causes them,
//! claimed by any number of workers in any number of processes with
//! `FOR UPDATE SKIP LOCKED` and a lease.
//!
//! A claim moves `next_attempt_at` to the lease's end: a leased message is simply not
//! due, so the due index finds the next claimable row without walking past leased ones,
//! and a crashed worker's message is due again exactly when its lease ends.

use async_trait::async_trait;
use exit3_core::{
    Subscriber, SubscriberId, Timestamp,
    outbox::{AttemptOutcome, Claimed, OutboxId, OutboxKind, OutboxMessage, OutboxStats},
    store::{OutboxStore, StoreError, StoreResult},
    tokens::TokenHash,
};
use sqlx::{FromRow, PgConnection};

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
    subscriber::{COLUMNS, SubscriberRow},
};

/// The longest error text kept with a message (the column's check).
const ERROR_MAX: usize = 2000;

/// Queues `message` in the caller's transaction, due at once.
pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    message: &OutboxMessage,
    subscriber: Option<SubscriberId>,
    now: Timestamp,
) -> sqlx::Result<()> {
    enqueue_all(conn, &[(message.clone(), subscriber, now)]).await
}

/// Queues several messages in one statement, in the given order, each with its subscriber
/// and the time it is due from; a webhook message gets its delivery row in it too.
pub(crate) async fn enqueue_all(
    conn: &mut PgConnection,
    messages: &[(OutboxMessage, Option<SubscriberId>, Timestamp)],
) -> sqlx::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut kinds = Vec::with_capacity(messages.len());
    let mut topics = Vec::with_capacity(messages.len());
    let mut payloads = Vec::with_capacity(messages.len());
    let mut subscribers = Vec::with_capacity(messages.len());
    let mut endpoints = Vec::with_capacity(messages.len());
    let mut times = Vec::with_capacity(messages.len());
    for (message, subscriber, at) in messages {
        kinds.push(message.kind().as_str());
        topics.push(message.topic());
        payloads.push(message.payload().to_string());
        subscribers.push(subscriber.map(SubscriberId::get));
        endpoints.push(match message {
            OutboxMessage::Webhook { endpoint, .. } => Some(endpoint.get()),
            _ => None,
        });
        times.push(*at);
    }
    // Ids drawn in the given order, so that each delivery row finds its message.
    sqlx::query(
        "WITH m AS MATERIALIZED ( \
             SELECT m.*, nextval(pg_get_serial_sequence('outbox', 'id')) AS id \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                         $6::timestamptz[]) \
                  WITH ORDINALITY AS m(kind, topic, payload, subscriber_id, endpoint, at, ord) \
             ORDER BY m.ord \
         ), o AS ( \
             INSERT INTO outbox (id, kind, topic, payload, subscriber_id, next_attempt_at, \
                 created_at, updated_at) \
             SELECT id, kind, topic, payload, subscriber_id, at, at, at FROM m ORDER BY ord) \
         INSERT INTO webhook_deliveries (outbox_id, endpoint_id) \
         SELECT id, endpoint FROM m WHERE endpoint IS NOT NULL",
    )
    .bind(&kinds)
    .bind(&topics)
    .bind(&payloads)
    .bind(&subscribers)
    .bind(&endpoints)
    .bind(&times)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, FromRow)]
struct ClaimedRow {
    id: i64,
    attempts: i32,
    topic: String,
    payload: String,
    created_at: Timestamp,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = StoreError;

    fn try_from(r: ClaimedRow) -> Result<Self, Self::Error> {
        let payload: serde_json::Value =
            serde_json::from_str(&r.payload).map_err(|_| corrupt("outbox payload", r.id))?;
        Ok(Claimed {
            id: OutboxId::new(r.id).ok_or_else(|| corrupt("outbox id", r.id))?,
            attempt: u32::try_from(r.attempts).map_err(|_| corrupt("attempt count", r.attempts))?,
            message: OutboxMessage::from_parts(&r.topic, &payload)
                .ok_or_else(|| corrupt("outbox message", &r.topic))?,
            created_at: r.created_at,
        })
    }
}

/// `text` cut to [`ERROR_MAX`] characters.
fn cut(text: &str) -> &str {
    text.char_indices()
        .nth(ERROR_MAX)
        .map_or(text, |(end, _)| &text[..end])
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim_due(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> StoreResult<Vec<Claimed>> {
        let rows: Vec<ClaimedRow> = sqlx::query_as(
            "UPDATE outbox o \
             SET attempts = o.attempts + 1, lease_until = $3, next_attempt_at = $3, \
                 updated_at = $1 \
             FROM (SELECT id FROM outbox \
                   WHERE status = 'pending' AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at, id LIMIT $2 \
                   FOR UPDATE SKIP LOCKED) due \
             WHERE o.id = due.id \
             RETURNING o.id, o.attempts, o.topic, o.payload, o.created_at",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(lease_until)
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let mut claimed = rows
            .into_iter()
            .map(Claimed::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_unstable_by_key(|c| (c.created_at, c.id));
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: OutboxId,
        attempt: u32,
        outcome: &AttemptOutcome,
        status_code: Option<u16>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let retry_at = match outcome {
            AttemptOutcome::Retry { at, .. } => Some(*at),
            _ => None,
        };
        let (done,): (i64,) = sqlx::query_as(
            "WITH u AS ( \
                 UPDATE outbox \
                 SET status = $3, last_error = $4, lease_until = NULL, updated_at = $5, \
                     next_attempt_at = COALESCE($6, next_attempt_at) \
                 WHERE id = $1 AND status = 'pending' AND attempts = $2 RETURNING id), \
             d AS (UPDATE webhook_deliveries SET last_status_code = $7 \
                   WHERE outbox_id IN (SELECT id FROM u)) \
             SELECT count(*) FROM u",
        )
        .bind(id.get())
        .bind(i64::from(attempt))
        .bind(outcome.status().as_str())
        .bind(outcome.error().map(cut))
        .bind(now)
        .bind(retry_at)
        .bind(status_code.map(i32::from))
        .fetch_one(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done == 1)
    }

    async fn issue_confirmation(
        &self,
        subscriber: SubscriberId,
        token: TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        // The subscriber is share-locked while its token goes in: it cannot confirm,
        // leave or be erased between the check and the insert.
        let row: Option<SubscriberRow> = sqlx::query_as(&format!(
            "WITH s AS (SELECT * FROM newsletter_subscribers \
                        WHERE id = $1 AND status = 'pending' FOR SHARE), \
                  issued AS (INSERT INTO confirmation_tokens \
                                 (token_hash, subscriber_id, created_at, expires_at) \
                             SELECT $2, id, $4, $3 FROM s) \
             SELECT {COLUMNS} FROM s"
        ))
        .bind(subscriber.get())
        .bind(&token.0[..])
        .bind(expires_at)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn outbox_stats(&self) -> StoreResult<Vec<OutboxStats>> {
        let rows: Vec<(String, i64, Option<Timestamp>)> = sqlx::query_as(
            "SELECT kind, count(*), min(created_at) FROM outbox \
             WHERE status = 'pending' GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        rows.into_iter()
            .map(|(kind, pending, oldest_pending)| {
                Ok(OutboxStats {
                    kind: OutboxKind::parse(&kind).ok_or_else(|| corrupt("outbox kind", &kind))?,
                    pending: u64::try_from(pending).unwrap_or(0),
                    oldest_pending,
                })
            })
            .collect()
    }
}
