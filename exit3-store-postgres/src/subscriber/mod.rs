//! Newsletter subscribers, their consent records and confirmation tokens.
//!
//! Every change is read-modify-write in one transaction: the row is locked
//! (`SELECT … FOR UPDATE`), the core's transition ([`SubscribeRequest::apply`],
//! [`subscription::confirm`], …) changes it, and the whole state is written back — so
//! the rules are the core's, once, and concurrent calls for one address see each other.

pub(crate) mod batch;
mod list;
mod row;

use async_trait::async_trait;
use exit3_core::{
    Actor, HistoryAction, Ordering, Page, PageRequest, SubscribeOutcome, Subscriber,
    SubscriberFilter, SubscriberId, SubscriberPatch, SubscriberStatus, Timestamp,
    domain::{
        ConfirmDecision, NewHistoryEntry, RequestFacts, SubscribeRequest, TokenRecord,
        UnsubscribeMethod, subscription,
    },
    events::Event,
    outbox::OutboxMessage,
    store::{
        ConfirmOutcome, Conflict, StoreError, StoreResult, SubscriberStore, UnsubscribeTarget,
    },
    tokens::TokenHash,
};
use sqlx::{FromRow, PgConnection, PgPool};

use crate::{
    PostgresStore,
    error::{TxError, corrupt, from_sqlx, is_unique_violation, retrying},
    history,
    outbox::enqueue,
    webhook::announce,
};

use self::batch::SubscribeJob;
pub(crate) use self::row::{COLUMNS, SubscriberRow};
use self::row::{Write, write};

/// The unique index on `lower(email)`.
const EMAIL_KEY: &str = "newsletter_subscribers_email_key";

/// How often a transaction that met a deadlock, or lost the race to insert an address, is
/// tried before the error is answered.
const ATTEMPTS: u32 = 3;

/// The subscriber with `id`, locked until the transaction ends.
async fn lock_by_id(
    conn: &mut PgConnection,
    id: SubscriberId,
) -> Result<Option<Subscriber>, TxError> {
    let row: Option<SubscriberRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM newsletter_subscribers s WHERE s.id = $1 FOR UPDATE"
    ))
    .bind(id.get())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Subscriber::try_from).transpose()?)
}

/// The subscriber with the (lower-case) address, locked until the transaction ends.
async fn lock_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Subscriber>, TxError> {
    let row: Option<SubscriberRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM newsletter_subscribers s WHERE lower(s.email) = lower($1) \
         FOR UPDATE"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Subscriber::try_from).transpose()?)
}

/// In the change's transaction: the event its change of status announces (from
/// `before`, see [`Event::subscriber_change`]) and, when asked, its confirmation mail.
async fn side_effects(
    conn: &mut PgConnection,
    before: Option<SubscriberStatus>,
    subscriber: &Subscriber,
    confirmation_mail: bool,
    now: Timestamp,
) -> sqlx::Result<()> {
    announce(conn, Event::subscriber_change(before, subscriber, now), now).await?;
    if confirmation_mail {
        let message = OutboxMessage::Confirmation {
            subscriber: subscriber.id,
        };
        enqueue(conn, &message, Some(subscriber.id), now).await?;
    }
    Ok(())
}

/// A new id from the table's identity sequence.
async fn next_id(conn: &mut PgConnection) -> Result<SubscriberId, TxError> {
    let (id,): (i64,) =
        sqlx::query_as("SELECT nextval(pg_get_serial_sequence('newsletter_subscribers', 'id'))")
            .fetch_one(conn)
            .await?;
    Ok(SubscriberId::new(id).ok_or_else(|| corrupt("subscriber id", id))?)
}

/// One subscribe in a transaction of its own, tried again after a deadlock or a lost race
/// to insert the address (the batch's way for a single call, and for each call of a
/// batch that failed).
pub(crate) async fn subscribe_one(
    pool: &PgPool,
    request: &SubscribeRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<(Subscriber, SubscribeOutcome)> {
    for _ in 0..ATTEMPTS {
        if let Some(done) = retrying(ATTEMPTS, || try_subscribe(pool, request, actor, now)).await? {
            return Ok(done);
        }
    }
    Err(StoreError::other(
        "the address kept being inserted and removed concurrently",
    ))
}

/// One subscribe transaction; `None` when it lost the race to insert the address.
async fn try_subscribe(
    pool: &PgPool,
    request: &SubscribeRequest,
    actor: &Actor,
    now: Timestamp,
) -> Result<Option<(Subscriber, SubscribeOutcome)>, TxError> {
    let mut tx = pool.begin().await?;
    let (subscriber, effect, before) =
        match lock_by_email(&mut tx, request.subscriber.email()).await? {
            Some(mut existing) => {
                let before = existing.clone();
                let effect = request.apply(&mut existing, now);
                if existing != before {
                    write(&mut tx, &existing, Write::Update).await?;
                }
                (existing, effect, Some(before))
            }
            None => {
                let (created, effect) = request.create(next_id(&mut tx).await?, now);
                // Another transaction may insert the address between the look-up and
                // here: then nothing is inserted, and the next attempt finds its row.
                if !write(&mut tx, &created, Write::Insert).await? {
                    return Ok(None);
                }
                (created, effect, None)
            }
        };
    side_effects(
        &mut tx,
        before.as_ref().and_then(Subscriber::announced_status),
        &subscriber,
        effect.confirmation_mail,
        now,
    )
    .await?;
    let entry = NewHistoryEntry::subscriber(
        actor,
        HistoryAction::Changed,
        before.as_ref(),
        &subscriber,
        now,
    );
    history::record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(Some((subscriber, effect.outcome)))
}

impl PostgresStore {
    /// One confirmation: the token, then its subscriber, both locked (in that order, so
    /// two uses of one token wait for each other), decided by the core.
    async fn try_confirm(
        &self,
        token: TokenHash,
        facts: &RequestFacts,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ConfirmOutcome, TxError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT subscriber_id, expires_at, used_at FROM confirmation_tokens \
             WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(&token.0[..])
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(ConfirmOutcome::Invalid);
        };
        let id = SubscriberId::new(row.subscriber_id)
            .ok_or_else(|| corrupt("subscriber id", row.subscriber_id))?;
        let record = TokenRecord {
            subscriber: id,
            expires_at: row.expires_at,
            used_at: row.used_at,
        };
        let Some(mut subscriber) = lock_by_id(&mut tx, id).await? else {
            return Ok(ConfirmOutcome::Invalid);
        };
        let outcome = match subscription::decide_confirm(Some(&record), Some(&subscriber), now) {
            ConfirmDecision::Invalid => return Ok(ConfirmOutcome::Invalid),
            // A double click: nothing to write.
            ConfirmDecision::AlreadyConfirmed if record.used_at.is_some() => {
                return Ok(ConfirmOutcome::AlreadyConfirmed(subscriber));
            }
            ConfirmDecision::AlreadyConfirmed => ConfirmOutcome::AlreadyConfirmed(subscriber),
            ConfirmDecision::Confirm => {
                let was = subscriber.clone();
                subscription::confirm(&mut subscriber, facts, now);
                write(&mut tx, &subscriber, Write::Update).await?;
                announce(
                    &mut tx,
                    Event::subscriber_change(was.announced_status(), &subscriber, now),
                    now,
                )
                .await?;
                let entry = NewHistoryEntry::subscriber(
                    actor,
                    HistoryAction::Confirmed,
                    Some(&was),
                    &subscriber,
                    now,
                );
                history::record(&mut tx, entry).await?;
                ConfirmOutcome::Confirmed(subscriber)
            }
        };
        sqlx::query("UPDATE confirmation_tokens SET used_at = $2 WHERE token_hash = $1")
            .bind(&token.0[..])
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn try_unsubscribe(
        &self,
        target: UnsubscribeTarget<'_>,
        method: UnsubscribeMethod,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool, TxError> {
        let mut tx = self.pool.begin().await?;
        let found = match target {
            UnsubscribeTarget::Email(email) => lock_by_email(&mut tx, email).await?,
            UnsubscribeTarget::Id(id) => lock_by_id(&mut tx, id).await?,
        };
        let Some(mut subscriber) = found else {
            return Ok(false);
        };
        let was = subscriber.clone();
        if !subscription::unsubscribe(&mut subscriber, method, now) {
            return Ok(false);
        }
        write(&mut tx, &subscriber, Write::Update).await?;
        announce(
            &mut tx,
            Event::subscriber_change(was.announced_status(), &subscriber, now),
            now,
        )
        .await?;
        let entry = NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Unsubscribed,
            Some(&was),
            &subscriber,
            now,
        );
        history::record(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn try_update(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Option<Subscriber>, TxError> {
        let mut tx = self.pool.begin().await?;
        let Some(mut subscriber) = lock_by_id(&mut tx, id).await? else {
            return Ok(None);
        };
        let was = subscriber.clone();
        patch.apply(&mut subscriber, now);
        write(&mut tx, &subscriber, Write::Update)
            .await
            .map_err(|e| {
                if is_unique_violation(&e, EMAIL_KEY) {
                    TxError::Store(StoreError::Conflict {
                        what: Conflict::SubscriberEmail,
                    })
                } else {
                    TxError::Sql(e)
                }
            })?;
        announce(
            &mut tx,
            Event::subscriber_change(was.announced_status(), &subscriber, now),
            now,
        )
        .await?;
        let entry = NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Changed,
            Some(&was),
            &subscriber,
            now,
        );
        history::record(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(Some(subscriber))
    }

    async fn try_release(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Option<Subscriber>, TxError> {
        let mut tx = self.pool.begin().await?;
        let Some(mut subscriber) = lock_by_id(&mut tx, id).await? else {
            return Ok(None);
        };
        let was = subscriber.clone();
        let Some(released) = subscription::release(&mut subscriber, now) else {
            return Ok(Some(subscriber));
        };
        write(&mut tx, &subscriber, Write::Update).await?;
        side_effects(&mut tx, None, &subscriber, released.confirmation_mail, now).await?;
        let entry = NewHistoryEntry::subscriber(
            actor,
            HistoryAction::Released,
            Some(&was),
            &subscriber,
            now,
        );
        history::record(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(Some(subscriber))
    }
}

#[derive(Debug, FromRow)]
struct TokenRow {
    subscriber_id: i64,
    expires_at: Timestamp,
    used_at: Option<Timestamp>,
}

#[async_trait]
impl SubscriberStore for PostgresStore {
    async fn subscribe(
        &self,
        request: &SubscribeRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)> {
        // With the subscribes arriving at the same moment, in one transaction (`batch.rs`).
        let job = SubscribeJob {
            request: request.clone(),
            actor: actor.clone(),
            now,
        };
        self.subscribes.submit(job).await.unwrap_or_else(|| {
            Err(StoreError::other(
                "the batch writing the subscribe ended without an answer",
            ))
        })
    }

    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Option<Subscriber>> {
        let row: Option<SubscriberRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM newsletter_subscribers s WHERE s.id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        retrying(ATTEMPTS, || self.try_update(id, patch, actor, now)).await
    }

    async fn release_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        retrying(ATTEMPTS, || self.try_release(id, actor, now)).await
    }

    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        // Its tokens go with it (ON DELETE CASCADE); its history entry in the same
        // statement (a `deleted` entry has no field changes: NewHistoryEntry::new).
        let done = sqlx::query(
            "WITH d AS (DELETE FROM newsletter_subscribers WHERE id = $1 RETURNING id) \
             INSERT INTO history (at, actor, action, object_kind, object_id) \
             SELECT $2, $3, 'deleted', 'subscriber', id FROM d",
        )
        .bind(id.get())
        .bind(now)
        .bind(actor.to_string())
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn unsubscribe(
        &self,
        target: UnsubscribeTarget<'_>,
        method: UnsubscribeMethod,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        retrying(ATTEMPTS, || {
            self.try_unsubscribe(target, method, actor, now)
        })
        .await
    }

    async fn confirm(
        &self,
        token: TokenHash,
        facts: &RequestFacts,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<ConfirmOutcome> {
        retrying(ATTEMPTS, || self.try_confirm(token, facts, actor, now)).await
    }

    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        list::page(&self.pool, filter, ordering, page).await
    }

    async fn list_subscribers_after(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        after: Option<&Subscriber>,
        limit: u32,
    ) -> StoreResult<Vec<Subscriber>> {
        list::after(&self.pool, filter, ordering, after, limit).await
    }
}
