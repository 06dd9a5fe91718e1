//! What delivery needs from a store: the outbox the worker claims from, and the webhook
//! endpoints with their deliveries.

use std::fmt::Debug;

use async_trait::async_trait;

use super::StoreResult;
use crate::{
    clock::Timestamp,
    domain::{Subscriber, SubscriberId},
    outbox::{AttemptOutcome, Claimed, OutboxId, OutboxStats},
    query::{Page, PageRequest},
    tokens::TokenHash,
    webhooks::{
        NewWebhook, WebhookDelivery, WebhookEndpoint, WebhookId, WebhookPatch, WebhookSecret,
    },
};

/// The outbox: messages written with the changes that cause them, delivered by workers
/// that lease what they claim.
#[async_trait]
pub trait OutboxStore: Send + Sync + Debug + 'static {
    /// Claims up to `limit` pending messages that are due at `now` and not leased (or
    /// whose lease ended), oldest due first, leasing them until `lease_until` and counting
    /// the attempt. Concurrent claims (any number of workers, any number of processes)
    /// never claim one message twice while its lease holds.
    async fn claim_due(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> StoreResult<Vec<Claimed>>;

    /// Records how attempt `attempt` of message `id` ended: its status, its error, the
    /// receiver's status code (webhooks), and for a retry the next attempt's time; the
    /// lease ends. `false` (and nothing
    /// recorded) when the message is not pending at that attempt any more — its lease
    /// ran out and another worker claimed it.
    async fn record_attempt(
        &self,
        id: OutboxId,
        attempt: u32,
        outcome: &AttemptOutcome,
        status_code: Option<u16>,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Stores a confirmation token (by its hash) for `subscriber`, valid until
    /// `expires_at`, and answers the subscriber — when it is still pending; `None` (and
    /// nothing stored) otherwise.
    async fn issue_confirmation(
        &self,
        subscriber: SubscriberId,
        token: TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>>;

    /// The pending messages by kind (every kind with at least one).
    async fn outbox_stats(&self) -> StoreResult<Vec<OutboxStats>>;
}

/// Webhook endpoints and their deliveries. Every store call that changes a subscriber
/// also fans its [`Event`](crate::events::Event) out (by
/// [`Event::subscriber_change`](crate::events::Event::subscriber_change) and
/// [`fan_out`](crate::webhooks::fan_out)) to the endpoints stored at that moment, in the
/// same transaction: no delivery without its change, no change without its deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync + Debug + 'static {
    /// Stores a new endpoint with `secret`, enabled, with a new id.
    async fn create_webhook(
        &self,
        webhook: &NewWebhook,
        secret: &WebhookSecret,
        now: Timestamp,
    ) -> StoreResult<WebhookEndpoint>;

    /// The endpoints, oldest first, cut to `page`.
    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<WebhookEndpoint>>;

    /// The endpoint with `id`, or `None`.
    async fn get_webhook(&self, id: WebhookId) -> StoreResult<Option<WebhookEndpoint>>;

    /// Applies `patch` atomically; `None` when there is no such endpoint.
    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>>;

    /// Deletes the endpoint; its pending deliveries are skipped by the worker. `false`
    /// when there was none.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;

    /// Makes `secret` the endpoint's secret; the one before keeps signing until
    /// `previous_until`. `None` when there is no such endpoint.
    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &WebhookSecret,
        previous_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<WebhookEndpoint>>;

    /// Queues `message` (a [`Webhook`](crate::outbox::OutboxMessage::Webhook) message
    /// for this endpoint: a `ping`) when the endpoint exists; `false` otherwise.
    async fn queue_webhook(
        &self,
        id: WebhookId,
        message: &crate::outbox::OutboxMessage,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// The endpoint's deliveries, newest first, cut to `page`; `None` when there is no
    /// such endpoint.
    async fn list_deliveries(
        &self,
        id: WebhookId,
        page: PageRequest,
    ) -> StoreResult<Option<Page<WebhookDelivery>>>;
}
