//! Events (capture.md §3): what changed, as webhook receivers see it. An event is made by
//! the store call that makes its change and fanned out, in that same call, to every
//! enabled webhook endpoint that listens for it — so no receiver hears of a change that
//! was not stored, and no stored change goes unannounced.

mod data;
mod new_lead;

use serde_json::{Value, json};

pub use self::{
    data::{lead_json, subscriber_json},
    new_lead::{LeadCreated, LeadEffects},
};
use crate::{Lead, Subscriber, SubscriberStatus, choice_enum, clock::Timestamp, domain::LeadId};

choice_enum!(
    /// What an event announces.
    EventType {
        /// A lead was stored (accepted or released).
        LeadCreated = "lead.created",
        /// A lead changed.
        LeadUpdated = "lead.updated",
        /// A lead was deleted.
        LeadDeleted = "lead.deleted",
        /// A subscriber confirmed the address (or was created active with double opt-in
        /// off).
        SubscriberConfirmed = "subscriber.confirmed",
        /// A subscriber left.
        SubscriberUnsubscribed = "subscriber.unsubscribed",
        /// A person's data was erased.
        PersonErased = "person.erased",
        /// A test event, sent to one endpoint on request.
        Ping = "ping",
    }
);

/// One event: its type, when it happened, and its `data` (the object as the admin API
/// shows it at that moment).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What it announces.
    pub event_type: EventType,
    /// When the change happened.
    pub at: Timestamp,
    /// The object.
    pub data: Value,
}

impl Event {
    /// `subscriber.confirmed`, with the subscriber as it is now.
    pub fn subscriber_confirmed(subscriber: &Subscriber, at: Timestamp) -> Self {
        Self::new(
            EventType::SubscriberConfirmed,
            at,
            subscriber_json(subscriber),
        )
    }

    /// `subscriber.unsubscribed`, with the subscriber as it is now.
    pub fn subscriber_unsubscribed(subscriber: &Subscriber, at: Timestamp) -> Self {
        Self::new(
            EventType::SubscriberUnsubscribed,
            at,
            subscriber_json(subscriber),
        )
    }

    /// The event a subscriber's change of status announces, if any: becoming active
    /// (confirmed, or created or brought back active without double opt-in) is
    /// `subscriber.confirmed`; leaving is `subscriber.unsubscribed`. `before` is the
    /// [`announced_status`](Subscriber::announced_status) before the change: `None` for
    /// a new or quarantined subscriber, which the outside world has not heard of. A
    /// quarantined subscriber announces nothing. Stores call this after every subscriber
    /// change.
    pub fn subscriber_change(
        before: Option<SubscriberStatus>,
        after: &Subscriber,
        at: Timestamp,
    ) -> Option<Self> {
        if after.quarantine.is_some() || before == Some(after.status) {
            return None;
        }
        match after.status {
            SubscriberStatus::Active => Some(Self::subscriber_confirmed(after, at)),
            SubscriberStatus::Unsubscribed if before.is_some() => {
                Some(Self::subscriber_unsubscribed(after, at))
            }
            _ => None,
        }
    }

    /// `person.erased`: the person by the hash of the address, never the address.
    pub fn person_erased(person: &crate::privacy::Person, at: Timestamp) -> Self {
        Self::new(
            EventType::PersonErased,
            at,
            json!({ "email_sha256": person.email_sha256() }),
        )
    }

    /// `lead.created`.
    pub fn lead_created(lead: &Lead, at: Timestamp) -> Self {
        Self::new(EventType::LeadCreated, at, lead_json(lead))
    }

    /// `lead.updated`.
    pub fn lead_updated(lead: &Lead, at: Timestamp) -> Self {
        Self::new(EventType::LeadUpdated, at, lead_json(lead))
    }

    /// `lead.deleted`: only the id is left to tell.
    pub fn lead_deleted(id: LeadId, at: Timestamp) -> Self {
        Self::new(EventType::LeadDeleted, at, json!({ "id": id.get() }))
    }

    /// `ping`: a test.
    pub fn ping(at: Timestamp) -> Self {
        Self::new(EventType::Ping, at, json!({}))
    }

    fn new(event_type: EventType, at: Timestamp, data: Value) -> Self {
        Self {
            event_type,
            at,
            data,
        }
    }

    /// The body every delivery of this event sends, byte for byte on every retry (the
    /// signature covers it): `{"type": …, "timestamp": "<RFC 3339>", "data": {…}}`.
    pub fn body(&self) -> String {
        json!({
            "type": self.event_type.as_str(),
            "timestamp": data::rfc3339(self.at),
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_micros;

    #[test]
    fn the_body_has_type_timestamp_and_data() {
        let id = LeadId::new(7).unwrap_or_else(|| panic!("positive"));
        let event = Event::lead_deleted(id, from_micros(1_700_000_000_123_456));
        let body: Value = serde_json::from_str(&event.body()).unwrap_or_default();
        assert_eq!(
            body,
            json!({
                "type": "lead.deleted",
                "timestamp": "2023-11-14T22:13:20.123456Z",
                "data": {"id": 7},
            })
        );
    }

    #[test]
    fn every_type_has_its_contract_name() {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "lead.created",
                "lead.updated",
                "lead.deleted",
                "subscriber.confirmed",
                "subscriber.unsubscribed",
                "person.erased",
                "ping"
            ]
        );
    }
}
