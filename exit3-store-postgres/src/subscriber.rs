//! Newsletter subscribers.

use async_trait::async_trait;
use exit3_core::{
    NewSubscriber, Ordering, Page, PageRequest, SubscribeOutcome, Subscriber, SubscriberFilter,
    SubscriberId, SubscriberPatch, SubscriberStatus, Timestamp,
    store::{Conflict, StoreError, StoreResult, SubscriberStore},
};
use sqlx::{FromRow, Postgres, QueryBuilder};

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx, is_unique_violation},
    query::{TOTAL, fetch_page, push_order, push_page, push_search},
};

/// The unique index on `lower(email)`.
const EMAIL_KEY: &str = "newsletter_subscribers_email_key";

const COLUMNS: &str = "s.id, s.email, s.full_name, s.status, s.source, s.created_at, \
    s.updated_at, s.unsubscribed_at";

#[derive(Debug, FromRow)]
struct SubscriberRow {
    id: i64,
    email: String,
    full_name: Option<String>,
    status: String,
    source: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    unsubscribed_at: Option<Timestamp>,
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = exit3_core::StoreError;

    fn try_from(r: SubscriberRow) -> Result<Self, Self::Error> {
        Ok(Subscriber {
            id: SubscriberId::new(r.id).ok_or_else(|| corrupt("subscriber id", r.id))?,
            status: SubscriberStatus::parse(&r.status)
                .ok_or_else(|| corrupt("subscriber status", &r.status))?,
            email: r.email,
            full_name: r.full_name,
            source: r.source,
            created_at: r.created_at,
            updated_at: r.updated_at,
            unsubscribed_at: r.unsubscribed_at,
        })
    }
}

#[derive(Debug, FromRow)]
struct UpsertRow {
    #[sqlx(flatten)]
    subscriber: SubscriberRow,
    inserted: bool,
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, filter: &SubscriberFilter) {
    qb.push(" WHERE TRUE");
    if let Some(status) = filter.status {
        qb.push(" AND s.status = ").push_bind(status.as_str());
    }
    if let Some(source) = &filter.source {
        qb.push(" AND s.source = ").push_bind(source.clone());
    }
    if let Some(search) = &filter.search {
        qb.push(" AND ");
        push_search(qb, &["s.email", "s.full_name"], search);
    }
}

#[async_trait]
impl SubscriberStore for PostgresStore {
    async fn subscribe(
        &self,
        subscriber: &NewSubscriber,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)> {
        // One upsert decides: a new address is inserted; an unsubscribed one is
        // re-activated; an active one is left alone (the WHERE is false) but still
        // locked by ON CONFLICT, so reading it back in the same transaction gives the
        // row as it was when the decision was taken.
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let upserted: Option<UpsertRow> = sqlx::query_as(
            "INSERT INTO newsletter_subscribers AS s
                 (email, full_name, status, source, created_at, updated_at, unsubscribed_at)
             VALUES ($1, $2, 'active', $3, $4, $4, NULL)
             ON CONFLICT ((lower(email))) DO UPDATE
                 SET status = 'active', unsubscribed_at = NULL, updated_at = excluded.updated_at
                 WHERE s.status <> 'active'
             RETURNING s.id, s.email, s.full_name, s.status, s.source, s.created_at,
                       s.updated_at, s.unsubscribed_at, (s.xmax = 0) AS inserted",
        )
        .bind(subscriber.email())
        .bind(subscriber.full_name())
        .bind(subscriber.source())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let (row, outcome) = match upserted {
            Some(UpsertRow {
                subscriber,
                inserted: true,
            }) => (subscriber, SubscribeOutcome::Created),
            Some(UpsertRow { subscriber, .. }) => (subscriber, SubscribeOutcome::Reactivated),
            None => {
                let row: SubscriberRow = sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM newsletter_subscribers s WHERE lower(s.email) = lower($1)"
                ))
                .bind(subscriber.email())
                .fetch_one(&mut *tx)
                .await
                .map_err(from_sqlx)?;
                (row, SubscribeOutcome::AlreadyActive)
            }
        };
        tx.commit().await.map_err(from_sqlx)?;
        Ok((row.try_into()?, outcome))
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
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        // SET expressions read the row as it was, so `unsubscribed_at` follows the
        // status change as `set_status` does: set on unsubscribing, cleared on
        // re-activating, kept when the status does not change.
        let row: Option<SubscriberRow> = sqlx::query_as(&format!(
            "UPDATE newsletter_subscribers s SET
                 email = COALESCE($2::text, email),
                 full_name = CASE WHEN $3 THEN $4::text ELSE full_name END,
                 source = COALESCE($5::text, source),
                 unsubscribed_at = CASE
                     WHEN $6::text IS NULL OR $6::text = status THEN unsubscribed_at
                     WHEN $6::text = 'unsubscribed' THEN $7
                     ELSE NULL END,
                 status = COALESCE($6::text, status),
                 updated_at = $7
             WHERE s.id = $1
             RETURNING {COLUMNS}"
        ))
        .bind(id.get())
        .bind(patch.email())
        .bind(patch.full_name().is_some())
        .bind(patch.full_name().flatten())
        .bind(patch.source())
        .bind(patch.status().map(SubscriberStatus::as_str))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, EMAIL_KEY) {
                StoreError::Conflict {
                    what: Conflict::SubscriberEmail,
                }
            } else {
                from_sqlx(e)
            }
        })?;
        row.map(Subscriber::try_from).transpose()
    }

    async fn delete_subscriber(&self, id: SubscriberId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM newsletter_subscribers WHERE id = $1")
            .bind(id.get())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn unsubscribe(&self, email: &str, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE newsletter_subscribers
             SET status = 'unsubscribed', unsubscribed_at = $2, updated_at = $2
             WHERE lower(email) = lower($1) AND status = 'active'",
        )
        .bind(email)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(from_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        let mut page_query = QueryBuilder::new(format!(
            "SELECT {COLUMNS}, (SELECT count(*) FROM newsletter_subscribers s"
        ));
        push_filter(&mut page_query, filter);
        page_query.push(format_args!(") AS {TOTAL} FROM newsletter_subscribers s"));
        push_filter(&mut page_query, filter);
        push_order(&mut page_query, "s", ordering);
        push_page(&mut page_query, page);
        let mut count_query = QueryBuilder::new("SELECT count(*) FROM newsletter_subscribers s");
        push_filter(&mut count_query, filter);
        fetch_page::<SubscriberRow, Subscriber>(&self.pool, page_query, count_query, page).await
    }
}
