//! Webhook endpoints and their deliveries; events fanned out under the data lock, in the
//! same write as the change that makes them.

use async_trait::async_trait;
use exit3_core::{
    Page, PageRequest, Timestamp,
    events::Event,
    outbox::OutboxMessage,
    store::{StoreError, StoreResult, WebhookStore},
    webhooks::{
        self, NewWebhook, WebhookDelivery, WebhookEndpoint, WebhookId, WebhookPatch, WebhookSecret,
    },
};

use crate::{Data, MemoryStore, page_of, read, write};

impl Data {
    /// Queues `event` for every endpoint that takes it.
    pub(crate) fn announce(&mut self, event: Option<Event>, now: Timestamp) {
        let Some(event) = event else { return };
        for message in webhooks::fan_out(&event, self.webhooks.values()) {
            self.enqueue(message, now);
        }
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> StoreResult<WebhookEndpoint> {
        let mut data = write(&self.data);
        let id = data.last_webhook_id + 1;
        let id_ = WebhookId::new(id).ok_or_else(|| StoreError::other("webhook id overflow"))?;
        let endpoint = WebhookEndpoint {
            id: id_,
            url: webhook.url.clone(),
            events: webhook.events.clone(),
            description: webhook.description.clone(),
            enabled: true,
            secret: secret.clone(),
            previous_secret: None,
            created_at: now,
            updated_at: now,
        };
        data.last_webhook_id = id;
        data.webhooks.insert(id, endpoint.clone());
        Ok(endpoint)
    }

    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<WebhookEndpoint>> {
        let data = read(&self.data);
        let page = page_of(
            data.webhooks.values(),
            |_| true,
            |a, b| a.id.cmp(&b.id),
            page,
        );
        Ok(page.map(WebhookEndpoint::clone))
    }

    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        Ok(read(&self.data).webhooks.get(&id.get()).cloned())
    }

    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let mut data = write(&self.data);
        Ok(data.webhooks.get_mut(&id.get()).map(|e| {
            patch.apply(e, now);
            e.clone()
        }))
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        Ok(write(&self.data).webhooks.remove(&id.get()).is_some())
    }

    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &WebhookSecret,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let mut data = write(&self.data);
        Ok(data.webhooks.get_mut(&id.get()).map(|e| {
            let previous = std::mem::replace(&mut e.secret, secret.clone());
            e.previous_secret = Some((previous, previous_until));
            e.updated_at = now;
            e.clone()
        }))
    }

    async fn queue_webhook(
        &self,
        id: WebhookId,
        message: &OutboxMessage,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut data = write(&self.data);
        if !data.webhooks.contains_key(&id.get()) {
            return Ok(false);
        }
        data.enqueue(message.clone(), now);
        Ok(true)
    }

    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: PageRequest,
    ) -> StoreResult<Option<Page<WebhookDelivery>>> {
        let data = read(&self.data);
        if !data.webhooks.contains_key(&id.get()) {
            return Ok(None);
        }
        let deliveries = data.outbox.iter().filter_map(|(&row, q)| match &q.message {
            OutboxMessage::Webhook {
                endpoint,
                message_id,
                event_type,
                ..
            } if *endpoint == id => Some(WebhookDelivery {
                id: exit3_core::outbox::OutboxId::new(row)?,
                message_id: message_id.clone(),
                event_type: *event_type,
                status: q.status,
                attempts: q.attempts,
                last_status_code: q.last_status_code,
                last_error: q.last_error.clone(),
                next_attempt_at: (q.status == exit3_core::outbox::DeliveryStatus::Pending)
                    .then_some(q.next_attempt_at),
                created_at: q.created_at,
            }),
            _ => None,
        });
        Ok(Some(page_of(
            deliveries,
            |_| true,
            |a, b| b.id.cmp(&a.id),
            page,
        )))
    }
}
