//! [`Decorated`]'s forwarding of the delivery capabilities: the outbox and webhooks.

use async_trait::async_trait;

use super::Decorated;
use crate::{
    clock::Timestamp,
    domain::{Subscriber, SubscriberId},
    outbox::{AttemptOutcome, Claimed, OutboxId, OutboxStats},
    query::{Page, PageRequest},
    store::{OutboxStore, StoreCall, StoreHook, StoreResult, WebhookStore},
    tokens::TokenHash,
    webhooks::{
        NewWebhook, WebhookDelivery, WebhookEndpoint, WebhookId, WebhookPatch, WebhookSecret,
    },
};

#[async_trait]
impl<H: StoreHook> OutboxStore for Decorated<H> {
    async fn claim_due(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> StoreResult<Vec<Claimed>> {
        self.run(
            StoreCall::ClaimDue,
            self.inner.claim_due(now, limit, lease_until),
        )
        .await
    }
    async fn record_attempt(
        &self,
        id: OutboxId,
        attempt: u32,
        outcome: &AttemptOutcome,
        status_code: Option<u16>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.run(
            StoreCall::RecordAttempt,
            self.inner
                .record_attempt(id, attempt, outcome, status_code, now),
        )
        .await
    }
    async fn issue_confirmation(
        &self,
        subscriber: SubscriberId,
        token: TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        self.run(
            StoreCall::IssueConfirmation,
            self.inner
                .issue_confirmation(subscriber, token, expires_at, now),
        )
        .await
    }
    async fn outbox_stats(&self) -> StoreResult<Vec<OutboxStats>> {
        self.run(StoreCall::OutboxStats, self.inner.outbox_stats())
            .await
    }
}

#[async_trait]
impl<H: StoreHook> WebhookStore for Decorated<H> {
    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> StoreResult<WebhookEndpoint> {
        self.run(
            StoreCall::CreateWebhook,
            self.inner.create_webhook(webhook, secret, now),
        )
        .await
    }
    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<WebhookEndpoint>> {
        self.run(StoreCall::ListWebhooks, self.inner.list_webhooks(page))
            .await
    }
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>> {
        self.run(StoreCall::GetWebhook, self.inner.get_webhook(id))
            .await
    }
    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        self.run(
            StoreCall::UpdateWebhook,
            self.inner.update_webhook(id, patch, now),
        )
        .await
    }
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        self.run(StoreCall::DeleteWebhook, self.inner.delete_webhook(id))
            .await
    }
    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &WebhookSecret,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        self.run(
            StoreCall::RotateWebhookSecret,
            self.inner
                .rotate_webhook_secret(id, secret, previous_until, now),
        )
        .await
    }
    async fn queue_webhook(
        &self,
        id: WebhookId,
        message: &crate::outbox::OutboxMessage,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.run(
            StoreCall::QueueWebhook,
            self.inner.queue_webhook(id, message, now),
        )
        .await
    }
    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: PageRequest,
    ) -> StoreResult<Option<Page<WebhookDelivery>>> {
        self.run(
            StoreCall::ListDeliveries,
            self.inner.list_deliveries(id, page),
        )
        .await
    }
}
