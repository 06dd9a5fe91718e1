//! Subscribes, a batch at a time (group commit, [`Batcher`](crate::batch)): the
//! subscribes that arrive together share one transaction. Their rows are locked at once,
//! the core's transitions run in arrival order — a second subscribe of one address in a
//! batch sees the first's result, as it would after the first's commit — and then the
//! rows, the events' deliveries, the confirmation mails and the history entries are
//! written with one multi-row statement each, and committed once. A single subscribe
//! (no other waiting) takes its own transaction as before.

use std::collections::HashMap;

use exit3_core::{
    Actor, HistoryAction, SubscribeOutcome, Subscriber, SubscriberId, Timestamp,
    domain::{NewHistoryEntry, SubscribeRequest},
    events::{Event, EventType},
    outbox::OutboxMessage,
    store::StoreResult,
    webhooks::{self, WebhookEndpoint},
};
use sqlx::{FromRow, PgPool};

use super::{
    ATTEMPTS, COLUMNS, SubscriberRow,
    row::{Write, write_all},
    subscribe_one,
};
use crate::{
    batch::Limits,
    error::{TxError, corrupt, fail_all, wrote_nothing},
    history, outbox,
    webhook::listening,
};

/// One subscribe waiting for its batch.
#[derive(Debug)]
pub(crate) struct SubscribeJob {
    pub(crate) request: SubscribeRequest,
    pub(crate) actor: Actor,
    pub(crate) now: Timestamp,
}

/// How subscribes are batched: as creates are (`lead_insert.rs`), at most 64 a batch,
/// a second batch beside the first once eight are queued.
pub(crate) const LIMITS: Limits = Limits {
    max: 64,
    writers: 2,
    extra_at: 8,
};

/// Writes `jobs` as one transaction (again after a deadlock, or when another transaction
/// inserted one of the addresses first), answering each; a batch the database refuses
/// otherwise is written again one subscribe at a time, so that one bad row fails alone (a
/// batch whose outcome is not known, its connection lost, is answered as failed).
pub(crate) async fn write(
    pool: &PgPool,
    jobs: Vec<SubscribeJob>,
) -> Vec<StoreResult<(Subscriber, SubscribeOutcome)>> {
    if jobs.len() > 1 {
        let mut attempt = 1;
        loop {
            match subscribe_all(pool, &jobs).await {
                Ok(Some(done)) => return done.into_iter().map(Ok).collect(),
                Ok(None) if attempt < ATTEMPTS => attempt += 1,
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => attempt += 1,
                Err(TxError::Sql(e)) if !wrote_nothing(&e) => return fail_all(jobs.len(), e),
                Ok(None) | Err(_) => break,
            }
        }
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in &jobs {
        answers.push(subscribe_one(pool, &job.request, &job.actor, job.now).await);
    }
    answers
}

/// A locked subscriber with its address as the unique index compares it.
#[derive(FromRow)]
struct Locked {
    key: String,
    #[sqlx(flatten)]
    row: SubscriberRow,
}

/// One address of the batch: its row as locked (none: not stored yet) and its state
/// after the batch's subscribes so far.
#[derive(Default)]
struct Address {
    stored: Option<Subscriber>,
    current: Option<Subscriber>,
}

/// What one subscribe of the batch did, before its events are fanned out.
struct Done {
    event: Option<Event>,
    /// Whom a confirmation mail goes to.
    mail: Option<SubscriberId>,
    now: Timestamp,
}

/// The batch's transaction; `None` when another transaction inserted one of its new
/// addresses first (the next attempt finds that row).
async fn subscribe_all(
    pool: &PgPool,
    jobs: &[SubscribeJob],
) -> Result<Option<Vec<(Subscriber, SubscribeOutcome)>>, TxError> {
    let mut tx = pool.begin().await?;
    let emails: Vec<&str> = jobs.iter().map(|j| j.request.subscriber.email()).collect();
    // The addresses as the unique index on `lower(email)` compares them, so that two
    // subscribes of one address in a batch are known to be one.
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT lower(u.e) FROM unnest($1::text[]) WITH ORDINALITY AS u(e, o) ORDER BY u.o",
    )
    .bind(&emails)
    .fetch_all(&mut *tx)
    .await?;
    if keys.len() != jobs.len() {
        return Err(corrupt("addresses of a batch", keys.len()).into());
    }
    // Locked in id order: two batches sharing addresses wait for each other, and
    // deadlock with nothing. Planned for each batch (not prepared): a plan kept from
    // while the table was small read the whole table (8.6 ms a batch, `BENCHMARKS.md`),
    // where the index finds each address.
    let locked: Vec<Locked> = sqlx::query_as(&format!(
        "SELECT lower(s.email) AS key, {COLUMNS} FROM newsletter_subscribers s \
         WHERE lower(s.email) = ANY ($1) ORDER BY s.id FOR UPDATE"
    ))
    .persistent(false)
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await?;
    let mut addresses: HashMap<&str, Address> = HashMap::with_capacity(keys.len());
    for Locked { key, row } in locked {
        let subscriber = Subscriber::try_from(row)?;
        let key = keys
            .iter()
            .find(|k| **k == key)
            .map(String::as_str)
            .ok_or_else(|| corrupt("locked address", &key))?;
        addresses.insert(
            key,
            Address {
                stored: Some(subscriber.clone()),
                current: Some(subscriber),
            },
        );
    }
    // One new id per new address, in the order of the addresses' first subscribes.
    let mut new_keys: Vec<&str> = Vec::new();
    for key in &keys {
        if !addresses.contains_key(key.as_str()) && !new_keys.contains(&key.as_str()) {
            new_keys.push(key);
        }
    }
    let ids: Vec<i64> = if new_keys.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('newsletter_subscribers', 'id')) \
             FROM generate_series(1, $1)",
        )
        .bind(i64::try_from(new_keys.len()).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?
    };
    let mut ids = ids.into_iter();

    // The core's transitions, in arrival order.
    let mut answers = Vec::with_capacity(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    let mut entries = Vec::with_capacity(jobs.len());
    for (job, key) in jobs.iter().zip(&keys) {
        let address = addresses.entry(key.as_str()).or_default();
        let (after, effect, before) = match address.current.as_mut() {
            Some(existing) => {
                let before = existing.clone();
                let effect = job.request.apply(existing, job.now);
                (existing.clone(), effect, Some(before))
            }
            None => {
                let id = ids.next().unwrap_or_default();
                let id = SubscriberId::new(id).ok_or_else(|| corrupt("subscriber id", id))?;
                let (created, effect) = job.request.create(id, job.now);
                address.current = Some(created.clone());
                (created, effect, None)
            }
        };
        done.push(Done {
            event: Event::subscriber_change(
                before.as_ref().and_then(Subscriber::announced_status),
                &after,
                job.now,
            ),
            mail: effect.confirmation_mail.then_some(after.id),
            now: job.now,
        });
        entries.extend(NewHistoryEntry::subscriber(
            &job.actor,
            HistoryAction::Changed,
            before.as_ref(),
            &after,
            job.now,
        ));
        answers.push((after, effect.outcome));
    }

    // Each address's final state, once; new ones in address order, so that two batches
    // inserting the same new addresses meet at the first of them.
    let mut inserts: Vec<(&str, &Subscriber)> = Vec::new();
    let mut updates: Vec<&Subscriber> = Vec::new();
    for (key, address) in &addresses {
        match (&address.stored, &address.current) {
            (None, Some(new)) => inserts.push((key, new)),
            (Some(stored), Some(now)) if stored != now => updates.push(now),
            _ => {}
        }
    }
    inserts.sort_unstable_by_key(|(key, _)| *key);
    let inserts: Vec<&Subscriber> = inserts.into_iter().map(|(_, s)| s).collect();
    if write_all(&mut tx, &inserts, Write::Insert).await? < inserts.len() {
        return Ok(None);
    }
    write_all(&mut tx, &updates, Write::Update).await?;

    // Each subscribe's deliveries (to the endpoints listening for its event) and then its
    // confirmation mail, in arrival order, as a subscribe of its own queues them.
    let mut endpoints: Vec<(EventType, Vec<WebhookEndpoint>)> = Vec::new();
    let mut messages = Vec::new();
    for d in done {
        if let Some(event) = d.event {
            let listeners = match endpoints.iter().position(|(t, _)| *t == event.event_type) {
                Some(i) => &endpoints[i].1,
                None => {
                    let found = listening(&mut tx, event.event_type).await?;
                    endpoints.push((event.event_type, found));
                    &endpoints[endpoints.len() - 1].1
                }
            };
            for message in webhooks::fan_out(&event, listeners) {
                messages.push((message, None, d.now));
            }
        }
        if let Some(subscriber) = d.mail {
            messages.push((
                OutboxMessage::Confirmation { subscriber },
                Some(subscriber),
                d.now,
            ));
        }
    }
    outbox::enqueue_all(&mut tx, &messages).await?;
    history::record_all(&mut tx, &entries).await?;
    tx.commit().await?;
    Ok(Some(answers))
}
