//! Subscribers on the wire.

use exit3_core::{Subscriber, SubscriberView};
use poem_openapi::{Object, Union};

use super::{SubscriberStatusWire, WireTime};

/// A newsletter subscriber, as the admin reads it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Subscriber")]
pub struct SubscriberOut {
    /// Read-only.
    pub id: i64,
    /// Stored lower-cased; unique.
    pub email: String,
    /// Up to 255 characters.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// `active` or `unsubscribed`.
    pub status: SubscriberStatusWire,
    /// One of the configured sources.
    pub source: String,
    /// Read-only.
    pub created_at: WireTime,
    /// Read-only.
    pub updated_at: WireTime,
    /// Read-only; set when the subscriber unsubscribed.
    #[oai(nullable)]
    pub unsubscribed_at: Option<WireTime>,
}

impl From<Subscriber> for SubscriberOut {
    fn from(s: Subscriber) -> Self {
        Self {
            id: s.id.get(),
            email: s.email,
            full_name: s.full_name,
            status: s.status.into(),
            source: s.source,
            created_at: WireTime(s.created_at),
            updated_at: WireTime(s.updated_at),
            unsubscribed_at: s.unsubscribed_at.map(WireTime),
        }
    }
}

/// What the public key sees after subscribing: the address and its status only.
#[derive(Debug, Clone, Object)]
pub struct SubscriptionReceipt {
    /// The stored (lower-case) address.
    pub email: String,
    /// Its status.
    pub status: SubscriberStatusWire,
}

/// The body of a subscribe answer: the whole subscriber for the admin key, a receipt for
/// the public key.
#[derive(Debug, Clone, Union)]
pub enum SubscribeBody {
    /// For the admin key.
    Full(SubscriberOut),
    /// For the public key.
    Receipt(SubscriptionReceipt),
}

impl From<SubscriberView> for SubscribeBody {
    fn from(v: SubscriberView) -> Self {
        match v {
            SubscriberView::Full(s) => Self::Full(s.into()),
            SubscriberView::Receipt { email, status } => Self::Receipt(SubscriptionReceipt {
                email,
                status: status.into(),
            }),
        }
    }
}

/// A page of subscribers (DRF's page-number shape).
#[derive(Debug, Clone, Object)]
pub struct SubscriberPage {
    /// How many subscribers match in all.
    pub count: u64,
    /// The next page's absolute URL, or null.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's absolute URL (page 1 without `page`), or null.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page's subscribers.
    pub results: Vec<SubscriberOut>,
}
