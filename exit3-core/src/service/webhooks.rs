//! The webhook operations (capture.md §3): `webhooks/`, `webhooks/{id}/`,
//! `webhooks/{id}/rotate-secret/`, `webhooks/{id}/ping/`, `webhooks/{id}/deliveries/`.
//! Admin key only.

use super::{Exit3, RequestContext};
use crate::{
    access::Operation,
    error::Error,
    events::Event,
    input::Payload,
    outbox::OutboxMessage,
    query::{Page, PageRequest, QueryParams},
    webhooks::{
        NewWebhook, ROTATION_OVERLAP, WebhookDelivery, WebhookEndpoint, WebhookId, WebhookPatch,
        WebhookSecret, new_message_id,
    },
};

impl Exit3 {
    /// `POST webhooks/`: the new endpoint, with its secret (shown only in this answer).
    pub async fn create_webhook(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<WebhookEndpoint, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let webhook = NewWebhook::parse(payload, self.webhook_allow_private())?;
        let secret = WebhookSecret::generate();
        Ok(self
            .store()
            .create_webhook(&webhook, &secret, self.now())
            .await?)
    }

    /// `GET webhooks/`.
    pub async fn list_webhooks(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<WebhookEndpoint>, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let page = PageRequest::from_params(params.get("page"), params.get("page_size"))?;
        let listed = self.store().list_webhooks(page).await?;
        if listed.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(listed)
    }

    /// `GET webhooks/{id}/`.
    pub async fn get_webhook(
        &self,
        ctx: &RequestContext,
        id: i64,
    ) -> Result<WebhookEndpoint, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        self.store().get_webhook(id).await?.ok_or(Error::NotFound)
    }

    /// `PATCH webhooks/{id}/`.
    pub async fn update_webhook(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<WebhookEndpoint, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        if self.store().get_webhook(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = WebhookPatch::parse(payload, self.webhook_allow_private())?;
        self.store()
            .update_webhook(id, &patch, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `DELETE webhooks/{id}/`.
    pub async fn delete_webhook(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        if self.store().delete_webhook(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `POST webhooks/{id}/rotate-secret/`: a new secret; the old one signs too for 24
    /// hours, so receivers can switch without missing a delivery.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &RequestContext,
        id: i64,
    ) -> Result<WebhookEndpoint, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        let now = self.now();
        self.store()
            .rotate_webhook_secret(id, &WebhookSecret::generate(), now + ROTATION_OVERLAP, now)
            .await?
            .ok_or(Error::NotFound)
    }

    /// `POST webhooks/{id}/ping/`: queues a `ping` to this endpoint only.
    pub async fn ping_webhook(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        let now = self.now();
        let event = Event::ping(now);
        let message = OutboxMessage::Webhook {
            endpoint: id,
            message_id: new_message_id(),
            event_type: event.event_type,
            body: event.body(),
        };
        if self.store().queue_webhook(id, &message, now).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `GET webhooks/{id}/deliveries/`, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        ctx: &RequestContext,
        id: i64,
        params: &QueryParams,
    ) -> Result<Page<WebhookDelivery>, Error> {
        self.admit(ctx, Operation::ManageWebhooks).await?;
        let id = WebhookId::new(id).ok_or(Error::NotFound)?;
        let page = PageRequest::from_params(params.get("page"), params.get("page_size"))?;
        let listed = self
            .store()
            .list_deliveries(id, page)
            .await?
            .ok_or(Error::NotFound)?;
        if listed.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(listed)
    }
}
