//! One person's export and erasure: the rows by their address (`lower(email)`, on its
//! index), and the text the outbox and the idempotency records keep, searched for the
//! address's JSON forms ([`Person::json_forms`]) — those two tables are short-lived
//! (retention and expiry keep them small), so a scan of them is the price of an erasure,
//! paid rarely.

use async_trait::async_trait;
use exit3_core::{
    Actor, HistoryAction, HistoryEntry, HistoryObject, Lead, Subscriber, Timestamp,
    domain::NewHistoryEntry,
    events::Event,
    outbox::DeliveryStatus,
    privacy::{Erased, MailRecord, Person, PersonData},
    store::{PrivacyStore, StoreResult},
};
use sqlx::FromRow;

use crate::{
    PostgresStore,
    error::{TxError, corrupt, from_sqlx, retrying},
    history::{self, HISTORY_COLUMNS, HistoryRow},
    lead::{LEAD_COLUMNS, LeadRow},
    subscriber::{COLUMNS as SUBSCRIBER_COLUMNS, SubscriberRow},
    webhook::announce,
};

/// How often an erasure that met a deadlock is tried.
const ATTEMPTS: u32 = 3;

/// `LIKE` patterns (backslash is `LIKE`'s default escape) for text that contains one of
/// the person's JSON forms, lower-case.
fn mention_patterns(person: &Person) -> Vec<String> {
    person
        .json_forms()
        .iter()
        .map(|form| {
            let mut pattern = String::with_capacity(form.len() + 2);
            pattern.push('%');
            for c in form.chars() {
                if matches!(c, '\\' | '%' | '_') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            pattern
        })
        .collect()
}

/// The history entries [`Person::concerns_entry`], for `lead_ids` as `$1`, the subscriber's
/// id as `$2` and the address as `$3`: by object on `history_object`, and by value among
/// the entries with values (`history_with_changes`).
const CONCERNS_ENTRY: &str = "((h.object_kind = 'lead' AND h.object_id = ANY ($1)) \
     OR (h.object_kind = 'subscriber' AND h.object_id = $2) \
     OR (h.changes IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements(h.changes) c \
         WHERE lower(c ->> 'old') = $3 OR lower(c ->> 'new') = $3)))";

#[derive(Debug, FromRow)]
struct MailRow {
    created_at: Timestamp,
    status: String,
}

impl PostgresStore {
    async fn try_erase(
        &self,
        person: &Person,
        erased: &Event,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Erased, TxError> {
        let mut tx = self.pool.begin().await?;
        let leads: Vec<i64> =
            sqlx::query_scalar("DELETE FROM leads WHERE lower(email) = $1 RETURNING id")
                .bind(person.email())
                .fetch_all(&mut *tx)
                .await?;
        let subscriber: Option<i64> = sqlx::query_scalar(
            "DELETE FROM newsletter_subscribers WHERE lower(email) = $1 RETURNING id",
        )
        .bind(person.email())
        .fetch_optional(&mut *tx)
        .await?;
        let patterns = mention_patterns(person);
        // A webhook call's delivery row goes with its outbox row (no cascade: see the
        // migration 20261205000200).
        let (deliveries,): (i64,) = sqlx::query_as(
            "WITH gone AS (DELETE FROM outbox WHERE subscriber_id = $1 \
                 OR lower(payload) LIKE ANY ($2) OR lower(last_error) LIKE ANY ($2) \
                 RETURNING id), \
             d AS (DELETE FROM webhook_deliveries WHERE outbox_id IN (SELECT id FROM gone)) \
             SELECT count(*) FROM gone",
        )
        .bind(subscriber)
        .bind(&patterns)
        .fetch_one(&mut *tx)
        .await?;
        let deliveries = u64::try_from(deliveries).unwrap_or_default();
        sqlx::query("DELETE FROM idempotency_keys WHERE lower(body) LIKE ANY ($1)")
            .bind(&patterns)
            .execute(&mut *tx)
            .await?;
        // The values go, the entries (who did what, when) stay: HistoryEntry::redact.
        sqlx::query(&format!(
            "UPDATE history h SET redacted = true, changes = (
                 SELECT jsonb_agg(jsonb_build_object('field', c -> 'field', 'old', NULL,
                                                     'new', NULL) ORDER BY n)
                 FROM jsonb_array_elements(h.changes) WITH ORDINALITY AS t(c, n))
             WHERE h.changes IS NOT NULL AND {CONCERNS_ENTRY}"
        ))
        .bind(&leads)
        .bind(subscriber)
        .bind(person.email())
        .execute(&mut *tx)
        .await?;
        announce(&mut tx, Some(erased.clone()), now).await?;
        let entry = NewHistoryEntry::new(actor, HistoryAction::Erased, HistoryObject::Person, now);
        history::record(&mut tx, Some(entry)).await?;
        tx.commit().await?;
        Ok(Erased {
            leads: leads.len() as u64,
            subscribers: u64::from(subscriber.is_some()),
            deliveries,
        })
    }
}

#[async_trait]
impl PrivacyStore for PostgresStore {
    async fn person_data(&self, person: &Person) -> StoreResult<PersonData> {
        let leads: Vec<LeadRow> = sqlx::query_as(&format!(
            "SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id \
             WHERE lower(l.email) = $1 ORDER BY l.id"
        ))
        .bind(person.email())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let leads = leads
            .into_iter()
            .map(Lead::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let subscriber: Option<SubscriberRow> = sqlx::query_as(&format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM newsletter_subscribers s WHERE lower(s.email) = $1"
        ))
        .bind(person.email())
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let subscriber = subscriber.map(Subscriber::try_from).transpose()?;
        let deliveries = match &subscriber {
            None => Vec::new(),
            Some(s) => {
                let rows: Vec<MailRow> = sqlx::query_as(
                    "SELECT created_at, status FROM outbox \
                     WHERE subscriber_id = $1 AND topic = 'confirmation' ORDER BY id",
                )
                .bind(s.id.get())
                .fetch_all(&self.pool)
                .await
                .map_err(from_sqlx)?;
                rows.into_iter()
                    .map(|r| {
                        let status = DeliveryStatus::parse(&r.status)
                            .ok_or_else(|| corrupt("delivery status", &r.status))?;
                        Ok(MailRecord::confirmation(r.created_at, status))
                    })
                    .collect::<StoreResult<Vec<_>>>()?
            }
        };
        let lead_ids: Vec<i64> = leads.iter().map(|l: &Lead| l.id.get()).collect();
        let history: Vec<HistoryRow> = sqlx::query_as(&format!(
            "SELECT {HISTORY_COLUMNS} FROM history h WHERE {CONCERNS_ENTRY} ORDER BY h.id DESC"
        ))
        .bind(&lead_ids)
        .bind(subscriber.as_ref().map(|s| s.id.get()))
        .bind(person.email())
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let history = history
            .into_iter()
            .map(HistoryEntry::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(PersonData {
            leads,
            subscriber,
            deliveries,
            history,
        })
    }

    async fn erase_person(
        &self,
        person: &Person,
        erased: &Event,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Erased> {
        retrying(ATTEMPTS, || self.try_erase(person, erased, actor, now)).await
    }
}
