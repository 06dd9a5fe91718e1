//! Subscribers on the wire.

use exit3_core::{Subscriber, SubscriberView};
use poem_openapi::{Object, Union};

use super::{QuarantineOut, SubscriberStatusWire, UnsubscribeMethodWire, WireTime};

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
    /// `pending` (waiting for the confirmation of the address), `active` or
    /// `unsubscribed`.
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
    /// Read-only; when the address was confirmed (double opt-in).
    #[oai(nullable)]
    pub confirmed_at: Option<WireTime>,
    /// Read-only: why the spam defence quarantined it (capture.md §1); null for an
    /// accepted subscriber. The public key never sees it.
    #[oai(nullable)]
    pub quarantine: Option<QuarantineOut>,
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
            confirmed_at: s.confirmed_at.map(WireTime),
            quarantine: s.quarantine.map(Into::into),
        }
    }
}

/// How and when a person consented, and when and how they left (GDPR Art. 7(1)).
#[derive(Debug, Clone, Object)]
#[oai(rename = "Consent")]
pub struct ConsentOut {
    /// The wording the form showed (or the configured default).
    #[oai(nullable)]
    pub consent_text: Option<String>,
    /// When the current subscription was asked for.
    #[oai(nullable)]
    pub subscribed_at: Option<WireTime>,
    /// From which client address.
    #[oai(nullable)]
    pub subscribed_ip: Option<String>,
    /// With which browser.
    #[oai(nullable)]
    pub subscribed_user_agent: Option<String>,
    /// When the address was confirmed.
    #[oai(nullable)]
    pub confirmed_at: Option<WireTime>,
    /// From which client address.
    #[oai(nullable)]
    pub confirmed_ip: Option<String>,
    /// When the subscriber left.
    #[oai(nullable)]
    pub unsubscribed_at: Option<WireTime>,
    /// How.
    #[oai(nullable)]
    pub unsubscribe_method: Option<UnsubscribeMethodWire>,
}

/// One subscriber as the admin reads it alone (`GET`/`PATCH newsletter/{id}/`): with
/// its consent record.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SubscriberDetail")]
pub struct SubscriberDetail {
    /// The subscriber's fields.
    #[oai(flatten)]
    pub subscriber: SubscriberOut,
    /// The consent record.
    pub consent: ConsentOut,
}

impl From<Subscriber> for SubscriberDetail {
    fn from(s: Subscriber) -> Self {
        let c = &s.consent;
        let consent = ConsentOut {
            consent_text: c.text.clone(),
            subscribed_at: c.subscribed_at.map(WireTime),
            subscribed_ip: c.subscribed_ip.map(|ip| ip.to_string()),
            subscribed_user_agent: c.subscribed_user_agent.clone(),
            confirmed_at: s.confirmed_at.map(WireTime),
            confirmed_ip: c.confirmed_ip.map(|ip| ip.to_string()),
            unsubscribed_at: s.unsubscribed_at.map(WireTime),
            unsubscribe_method: c.unsubscribe_method.map(Into::into),
        };
        Self {
            subscriber: s.into(),
            consent,
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
            SubscriberView::Full(s) => Self::Full((*s).into()),
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
