//! The wire format, in one place: the JSON shapes of the contract (§3), timestamps with
//! exactly six fractional digits, the core's choices by name, page links.

mod choice;
mod detail;
mod history;
mod json;
mod lead;
mod page;
mod subscriber;
mod time;
mod webhook;

pub use self::{
    choice::{
        DeliveryStatusWire, EventTypeWire, HistoryActionWire, LeadStatusWire, SubscriberStatusWire,
        UnsubscribeMethodWire, Wire, WireChoice,
    },
    detail::{BadRequestBody, Detail, FieldMessages, ServerErrorBody},
    history::{FieldChangeOut, HistoryEntryOut, HistoryPage},
    json::SerdeJson,
    lead::{ClientInfoOut, LeadOut, LeadPage, QuarantineOut},
    page::PageLinks,
    subscriber::{
        ConsentOut, SubscribeBody, SubscriberDetail, SubscriberOut, SubscriberPage,
        SubscriptionReceipt,
    },
    time::WireTime,
    webhook::{DeliveryOut, DeliveryPage, WebhookCreatedOut, WebhookOut, WebhookPage},
};
