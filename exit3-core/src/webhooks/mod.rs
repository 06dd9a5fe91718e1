//! Webhooks (capture.md §3): endpoints, the addresses they may reach, Standard Webhooks
//! signing, and the delivery records staff see. Sending is a port
//! ([`WebhookSender`](crate::ports::WebhookSender)); the decisions — what is signed, what
//! counts as delivered, when to retry, when an endpoint is disabled — are here and in the
//! worker.

mod address;
mod endpoint;
mod signing;

pub use self::{
    address::is_public,
    endpoint::{
        EventFilter, MAX_DESCRIPTION, MAX_URL, NewWebhook, ROTATION_OVERLAP, WebhookEndpoint,
        WebhookId, WebhookPatch, WebhookUrl,
    },
    signing::{WebhookSecret, new_message_id, signature_header},
};
use crate::{
    clock::Timestamp,
    events::{Event, EventType},
    outbox::{DeliveryStatus, OutboxId, OutboxMessage},
};

/// One delivery of one event to one endpoint, as `GET webhooks/{id}/deliveries/` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The outbox message.
    pub id: OutboxId,
    /// `webhook-id`: the same on every attempt.
    pub message_id: String,
    /// What it announces.
    pub event_type: EventType,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: u32,
    /// The receiver's status code at the last attempt, if it answered.
    pub last_status_code: Option<u16>,
    /// What went wrong at the last attempt.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// The outbox messages that announce `event` to `endpoints`: one for each enabled
/// endpoint whose filter takes it, all with one new message id. Stores call this in the
/// same call as the change.
pub fn fan_out<'a>(
    event: &Event,
    endpoints: impl IntoIterator<Item = &'a WebhookEndpoint>,
) -> Vec<OutboxMessage> {
    let mut targets = endpoints
        .into_iter()
        .filter(|e| e.listens(event.event_type))
        .map(|e| e.id)
        .peekable();
    if targets.peek().is_none() {
        return Vec::new();
    }
    let message_id = new_message_id();
    let body = event.body();
    targets
        .map(|endpoint| OutboxMessage::Webhook {
            endpoint,
            message_id: message_id.clone(),
            event_type: event.event_type,
            body: body.clone(),
        })
        .collect()
}
