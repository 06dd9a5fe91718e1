//! Webhook endpoints, their deliveries (outbox rows with an `endpoint_id`), and the
//! fan-out of events inside the transaction of the change that makes them.

use async_trait::async_trait;
use exit3_core::{
    Page, PageRequest, Timestamp,
    events::{Event, EventType},
    outbox::{DeliveryStatus, OutboxId, OutboxMessage},
    store::{StoreError, StoreResult, WebhookStore},
    webhooks::{
        self, EventFilter, NewWebhook, WebhookDelivery, WebhookEndpoint, WebhookId, WebhookPatch,
        WebhookSecret, WebhookUrl,
    },
};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
    outbox::enqueue,
    query::{TOTAL, fetch_page, push_page},
};

const COLUMNS: &str = "w.id, w.url, w.events, w.description, w.enabled, w.secret, \
    w.previous_secret, w.previous_secret_until, w.created_at, w.updated_at";

#[derive(Debug, FromRow)]
pub(crate) struct EndpointRow {
    id: i64,
    url: String,
    events: Vec<String>,
    description: String,
    enabled: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(r: EndpointRow) -> Result<Self, Self::Error> {
        let secret =
            |s: &str| WebhookSecret::parse(s).ok_or_else(|| corrupt("webhook secret", r.id));
        let previous_secret = match (&r.previous_secret, r.previous_secret_until) {
            (Some(s), Some(until)) => Some((secret(s)?, until)),
            _ => None,
        };
        Ok(Self {
            id: WebhookId::new(r.id).ok_or_else(|| corrupt("webhook id", r.id))?,
            secret: secret(&r.secret)?,
            url: WebhookUrl::from_stored(r.url),
            events: EventFilter::from_stored(r.events),
            description: r.description,
            enabled: r.enabled,
            previous_secret,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Queues `event` (when there is one) for every enabled endpoint that takes it, in the
/// caller's transaction. The endpoints are share-locked: one deleted or changed
/// concurrently is either seen as it was before, or waited for.
/// The enabled endpoints that listen for `event_type`, locked against change until the
/// transaction ends.
pub(crate) async fn listening(
    conn: &mut PgConnection,
    event_type: EventType,
) -> sqlx::Result<Vec<WebhookEndpoint>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints w WHERE w.enabled \
           AND (w.events @> ARRAY['*'] OR w.events @> ARRAY[$1]) FOR SHARE"
    ))
    .bind(event_type.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| WebhookEndpoint::try_from(r).ok())
        .collect())
}

pub(crate) async fn announce(
    conn: &mut PgConnection,
    event: Option<Event>,
    now: Timestamp,
) -> sqlx::Result<()> {
    let Some(event) = event else { return Ok(()) };
    let endpoints = listening(conn, event.event_type).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    for message in webhooks::fan_out(&event, &endpoints) {
        enqueue(conn, &message, None, now).await?;
    }
    Ok(())
}

#[derive(Debug, FromRow)]
struct DeliveryRow {
    id: i64,
    payload: String,
    status: String,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Timestamp,
    created_at: Timestamp,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, Self::Error> {
        let payload: serde_json::Value =
            serde_json::from_str(&r.payload).map_err(|_| corrupt("outbox payload", r.id))?;
        let Some(OutboxMessage::Webhook {
            message_id,
            event_type,
            ..
        }) = OutboxMessage::from_parts("webhook", &payload)
        else {
            return Err(corrupt("webhook delivery", r.id));
        };
        let status =
            DeliveryStatus::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?;
        Ok(Self {
            id: OutboxId::new(r.id).ok_or_else(|| corrupt("outbox id", r.id))?,
            message_id,
            event_type,
            status,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            last_status_code: r.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: r.last_error,
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
            created_at: r.created_at,
        })
    }
}

impl PostgresStore {
    async fn fetch_endpoint(
        &self,
        sql: &str,
        id: WebhookId,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let row: Option<EndpointRow> = sqlx::query_as(sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.map(WebhookEndpoint::try_from).transpose()
    }
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> StoreResult<WebhookEndpoint> {
        let row: EndpointRow = sqlx::query_as(&format!(
            "INSERT INTO webhook_endpoints AS w (url, events, description, enabled, secret, \
                 created_at, updated_at) \
             VALUES ($1, $2, $3, true, $4, $5, $5) RETURNING {COLUMNS}"
        ))
        .bind(webhook.url.as_str())
        .bind(webhook.events.names())
        .bind(&webhook.description)
        .bind(secret.expose())
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(from_sqlx)?;
        self.checks.recorded.endpoints_changed();
        WebhookEndpoint::try_from(row)
    }

    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<WebhookEndpoint>> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS}, (SELECT count(*) FROM webhook_endpoints) AS {TOTAL} \
             FROM webhook_endpoints w ORDER BY w.id"
        ));
        push_page(&mut q, page);
        let count = QueryBuilder::<Postgres>::new("SELECT count(*) FROM webhook_endpoints");
        fetch_page::<EndpointRow, WebhookEndpoint>(&self.pool, q, count, page).await
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        self.fetch_endpoint(
            &format!("SELECT {COLUMNS} FROM webhook_endpoints w WHERE w.id = $1"),
            id,
        )
        .await
    }

    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let row: Option<EndpointRow> = sqlx::query_as(&format!(
            "UPDATE webhook_endpoints AS w SET url = COALESCE($2, url), \
                 events = COALESCE($3, events), description = COALESCE($4, description), \
                 enabled = COALESCE($5, enabled), updated_at = $6 \
             WHERE w.id = $1 RETURNING {COLUMNS}"
        ))
        .bind(id.get())
        .bind(patch.url.as_ref().map(WebhookUrl::as_str))
        .bind(patch.events.as_ref().map(EventFilter::names))
        .bind(patch.description.as_deref())
        .bind(patch.enabled)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        self.checks.recorded.endpoints_changed();
        row.map(WebhookEndpoint::try_from).transpose()
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id.get())
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        self.checks.recorded.endpoints_changed();
        Ok(done.rows_affected() == 1)
    }

    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &WebhookSecret,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let row: Option<EndpointRow> = sqlx::query_as(&format!(
            "UPDATE webhook_endpoints AS w SET previous_secret = secret, \
                 previous_secret_until = $3, secret = $2, updated_at = $4 \
             WHERE w.id = $1 RETURNING {COLUMNS}"
        ))
        .bind(id.get())
        .bind(secret.expose())
        .bind(previous_until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(from_sqlx)?;
        row.map(WebhookEndpoint::try_from).transpose()
    }

    async fn queue_webhook(
        &self,
        id: WebhookId,
        message: &OutboxMessage,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM webhook_endpoints WHERE id = $1 FOR SHARE")
                .bind(id.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        if found.is_none() {
            return Ok(false);
        }
        enqueue(&mut tx, message, None, now)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: PageRequest,
    ) -> StoreResult<Option<Page<WebhookDelivery>>> {
        if self.get_webhook(id).await?.is_none() {
            return Ok(None);
        }
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT o.id, o.payload, o.status, o.attempts, d.last_status_code, o.last_error, \
                 o.next_attempt_at, o.created_at, \
                 (SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ",
        );
        q.push_bind(id.get());
        q.push(format!(
            ") AS {TOTAL} FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
             WHERE d.endpoint_id = "
        ));
        q.push_bind(id.get());
        q.push(" ORDER BY d.outbox_id DESC");
        push_page(&mut q, page);
        let mut count = QueryBuilder::<Postgres>::new(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = ",
        );
        count.push_bind(id.get());
        Ok(Some(
            fetch_page::<DeliveryRow, WebhookDelivery>(&self.pool, q, count, page).await?,
        ))
    }
}
