//! Webhook endpoints and deliveries on the wire (capture.md §3).

use exit3_core::webhooks::{WebhookDelivery, WebhookEndpoint};
use poem_openapi::Object;

use super::{DeliveryStatusWire, EventTypeWire, WireTime};

/// A webhook endpoint (its secret is shown only when made or rotated).
#[derive(Debug, Clone, Object)]
#[oai(rename = "Webhook")]
pub struct WebhookOut {
    /// Its id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// `["*"]` or event types.
    pub events: Vec<String>,
    /// Staff's note.
    pub description: String,
    /// Off after a receiver's 410, or by staff.
    pub enabled: bool,
    /// When it was made.
    pub created_at: WireTime,
    /// When it last changed.
    pub updated_at: WireTime,
}

impl From<WebhookEndpoint> for WebhookOut {
    fn from(w: WebhookEndpoint) -> Self {
        Self {
            id: w.id.get(),
            url: w.url.as_str().to_owned(),
            events: w.events.names().to_vec(),
            description: w.description,
            enabled: w.enabled,
            created_at: WireTime(w.created_at),
            updated_at: WireTime(w.updated_at),
        }
    }
}

/// A new (or rotated) endpoint, with its secret: keep it, it is not shown again.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookWithSecret")]
pub struct WebhookCreatedOut {
    /// The endpoint.
    #[oai(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_…`: verifies the `webhook-signature` of every delivery.
    pub secret: String,
}

impl From<WebhookEndpoint> for WebhookCreatedOut {
    fn from(w: WebhookEndpoint) -> Self {
        let secret = w.secret.expose();
        Self {
            webhook: w.into(),
            secret,
        }
    }
}

/// A page of endpoints.
#[derive(Debug, Clone, Object)]
pub struct WebhookPage {
    /// All endpoints.
    pub count: u64,
    /// The next page's URL.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's URL.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page.
    pub results: Vec<WebhookOut>,
}

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookDelivery")]
pub struct DeliveryOut {
    /// Its id.
    pub id: i64,
    /// `webhook-id`, the same on every attempt.
    pub message_id: String,
    /// What it announces.
    pub event_type: EventTypeWire,
    /// `pending`, `delivered`, `failed` (or `skipped`).
    pub status: DeliveryStatusWire,
    /// Attempts so far.
    pub attempts: u32,
    /// The receiver's status code at the last attempt.
    #[oai(nullable)]
    pub last_status_code: Option<u16>,
    /// What went wrong at the last attempt.
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    #[oai(nullable)]
    pub next_attempt_at: Option<WireTime>,
    /// When it was queued.
    pub created_at: WireTime,
}

impl From<WebhookDelivery> for DeliveryOut {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.get(),
            message_id: d.message_id,
            event_type: d.event_type.into(),
            status: d.status.into(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(WireTime),
            created_at: WireTime(d.created_at),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, Object)]
pub struct DeliveryPage {
    /// All deliveries of the endpoint.
    pub count: u64,
    /// The next page's URL.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's URL.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page.
    pub results: Vec<DeliveryOut>,
}
