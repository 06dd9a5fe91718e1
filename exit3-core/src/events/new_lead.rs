//! What storing a new lead sets off, made before the store gives the lead its id: its
//! `lead.created` body with a hole where the id goes, and the staff to notify. A store
//! that writes in SQL fills the hole in the same statement as the row
//! (`prefix || id || suffix`), so that a create stays one round trip.

use super::{Event, EventType};
use crate::{
    Lead, NewLead,
    clock::Timestamp,
    domain::LeadId,
    outbox::OutboxMessage,
    webhooks::{WebhookEndpoint, new_message_id},
};

/// The id the body is rendered with before the hole is cut around it. As JSON it is a
/// bare number after `"id":`; a text field holding the same characters is a quoted
/// string whose quotes are escaped, so the marker can only match the lead's own id.
const HOLE: LeadId = LeadId::MAX;

/// What the service decided a new lead sets off (the store makes the messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEffects {
    /// Staff to notify (`LEAD_NOTIFY_EMAILS`).
    pub notify: Vec<String>,
    /// Whether anything is announced at all: not for a quarantined lead.
    pub announce: bool,
}

impl Default for LeadEffects {
    /// Announced to webhooks, nobody notified.
    fn default() -> Self {
        Self {
            notify: Vec::new(),
            announce: true,
        }
    }
}

impl LeadEffects {
    /// Whether a new lead with these effects is heard of at all, given whether any
    /// endpoint listens for `lead.created`: a store renders and writes its event only
    /// then.
    pub fn heard(&self, any_listener: bool) -> bool {
        self.announce && (any_listener || !self.notify.is_empty())
    }

    /// Nothing at all: for a lead that is stored but not accepted (quarantined).
    pub fn silent() -> Self {
        Self {
            notify: Vec::new(),
            announce: false,
        }
    }
}

/// The effects of one new lead, made by the store before it has the id:
/// `lead.created` to every endpoint that listens for it, and a
/// [`LeadNotification`](OutboxMessage::LeadNotification) to each staff address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadCreated {
    message_id: String,
    prefix: String,
    suffix: String,
    notify: Vec<String>,
    announce: bool,
    /// The body is whole (a stored lead's): no id goes between prefix and suffix.
    id_in_prefix: bool,
}

impl LeadCreated {
    /// The effects of storing `lead` at `at`.
    pub fn new(lead: &NewLead, at: Timestamp, effects: &LeadEffects) -> Self {
        let body = Event::lead_created(&lead.clone().into_lead(HOLE, at), at).body();
        let marker = format!("\"id\":{HOLE}");
        let (prefix, suffix) = match body.split_once(&marker) {
            Some((before, after)) => (format!("{before}\"id\":"), after.to_owned()),
            // Unreachable while `lead_json` writes the id as a number; a body without
            // its id is still better than none.
            None => (body, String::new()),
        };
        Self {
            message_id: new_message_id(),
            prefix,
            suffix,
            notify: effects.notify.clone(),
            announce: effects.announce,
            id_in_prefix: false,
        }
    }

    /// The effects of accepting a lead already stored (released from quarantine at
    /// `at`): the same messages, with its body as it is now.
    pub fn for_stored(lead: &Lead, at: Timestamp, effects: &LeadEffects) -> Self {
        let body = Event::lead_created(lead, at).body();
        Self {
            message_id: new_message_id(),
            prefix: body,
            suffix: String::new(),
            notify: effects.notify.clone(),
            announce: effects.announce,
            id_in_prefix: true,
        }
    }

    /// Whether anything is announced (webhooks and notifications).
    pub fn announces(&self) -> bool {
        self.announce
    }

    /// The event's body once the lead has its id.
    pub fn body(&self, id: LeadId) -> String {
        if self.id_in_prefix {
            return self.prefix.clone();
        }
        format!("{}{}{}", self.prefix, id.get(), self.suffix)
    }

    /// The body up to the id (SQL stores write `prefix || id || suffix`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The body after the id.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The `webhook-id` of every delivery of this event.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The staff addresses to notify (empty when silent).
    pub fn notify(&self) -> &[String] {
        if self.announce { &self.notify } else { &[] }
    }

    /// Every outbox message of the lead stored as `id`, given the webhook endpoints.
    pub fn messages<'a>(
        &self,
        id: LeadId,
        endpoints: impl IntoIterator<Item = &'a WebhookEndpoint>,
    ) -> Vec<OutboxMessage> {
        if !self.announce {
            return Vec::new();
        }
        let body = self.body(id);
        let webhooks = endpoints
            .into_iter()
            .filter(|e| e.listens(EventType::LeadCreated))
            .map(|e| OutboxMessage::Webhook {
                endpoint: e.id,
                message_id: self.message_id.clone(),
                event_type: EventType::LeadCreated,
                body: body.clone(),
            });
        let mail = self
            .notify
            .iter()
            .map(|to| OutboxMessage::LeadNotification {
                to: to.clone(),
                body: body.clone(),
            });
        webhooks.chain(mail).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Origin, Payload, Policy, Scope};

    fn lead(message: &str) -> NewLead {
        let payload = Payload::empty()
            .with("full_name", "Ada Lovelace")
            .with("position", "CTO")
            .with("email", "ada@example.com")
            .with("message", message);
        NewLead::parse(
            &payload,
            &Policy::default(),
            Scope::Public,
            &Origin::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn the_filled_hole_is_the_body_of_the_stored_lead() {
        let at = Timestamp::UNIX_EPOCH;
        // A message that holds the marker's characters does not move the hole.
        let new = lead("my id \"id\":9223372036854775807 is big");
        let created = LeadCreated::new(&new, at, &LeadEffects::default());
        let id = LeadId::new(42).unwrap_or(LeadId::MAX);
        let expected = Event::lead_created(&new.into_lead(id, at), at).body();
        assert_eq!(created.body(id), expected);
    }

    #[test]
    fn silent_effects_send_nothing() {
        let new = lead("hello");
        let at = Timestamp::UNIX_EPOCH;
        let id = LeadId::new(1).unwrap_or(LeadId::MAX);
        let staff = LeadEffects {
            notify: vec!["staff@example.com".to_owned()],
            ..LeadEffects::default()
        };
        assert_eq!(LeadCreated::new(&new, at, &staff).messages(id, []).len(), 1);
        let quiet = LeadCreated::new(&new, at, &LeadEffects::silent());
        assert!(quiet.messages(id, []).is_empty() && quiet.notify().is_empty());
    }
}
