//! One person's data (privacy.md §1): what an export holds, what an erasure removes,
//! and how a store recognises the person's address in the text it keeps (an outbox
//! message's body, an idempotency record's answer); and how long anyone's data is kept
//! (§2, [`RetentionPolicy`]).

mod document;
mod retention;

use sha2::{Digest, Sha256};

pub use self::{
    document::{export_json, history_json},
    retention::{DAY, RetentionPolicy, RetentionStep},
};

use crate::{
    Lead, Subscriber,
    clock::Timestamp,
    domain::{HistoryEntry, HistoryObject, LeadId, SubscriberId},
    error::{Error, FieldErrors},
    input::{self, Payload},
    messages,
    outbox::{DeliveryStatus, OutboxMessage},
};

/// The person an export or erasure is about: an address that passed the contract's
/// parse, compared as stored (mapped domain, case-insensitive). Made only by
/// [`Person::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Lower-case.
    email: String,
    /// [`Person::json_forms`], made once: an erasure tests every outbox message with them.
    forms: [String; 2],
}

impl Person {
    /// Parses `{"email"}` (a body, or the query of an export): an invalid address is the
    /// validation shape on `email`.
    pub fn parse(payload: &Payload) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let email = input::required_email(payload, &mut errors, "email", None, false);
        match email {
            Some(email) if errors.is_empty() => {
                let email = email.to_lowercase().into_string();
                let forms = json_forms(&email);
                Ok(Self { email, forms })
            }
            _ => Err(Error::Validation(errors)),
        }
    }

    /// The address, lower-case.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Whether `stored` (an address as a store keeps it) is this person's.
    pub fn is(&self, stored: &str) -> bool {
        stored.to_lowercase() == self.email
    }

    /// The hex SHA-256 of the lower-case address: how `person.erased` names the person
    /// without repeating the address.
    pub fn email_sha256(&self) -> String {
        crate::text::hex(&Sha256::digest(self.email.as_bytes()))
    }

    /// The forms the address takes inside the JSON text stores keep, lower-case: as a
    /// JSON string (`"ada@example.com"`, quotes included, so that `bob@…` is not found
    /// in `jimbob@…`), and as that string written inside another JSON string (an event's
    /// body inside an outbox message, `\"ada@example.com\"`). A text mentions the person
    /// when its lower-case form contains either (a store's SQL may search with them).
    pub fn json_forms(&self) -> &[String; 2] {
        &self.forms
    }

    /// Whether a stored JSON text holds the address anywhere as a value (see
    /// [`json_forms`](Self::json_forms)).
    pub fn is_mentioned_in(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.forms.iter().any(|form| text.contains(form))
    }

    /// Whether an outbox message is about the person, so that an erasure removes it: a
    /// mail to their subscriber (`subscriber`, when they have one), or any message whose
    /// text mentions them (an event's body, a staff notification). The reference rule;
    /// a store may decide it in its own query language.
    pub fn concerns(&self, message: &OutboxMessage, subscriber: Option<SubscriberId>) -> bool {
        match message {
            OutboxMessage::Confirmation { subscriber: s } => Some(*s) == subscriber,
            other => self.is_mentioned_in(&other.payload().to_string()),
        }
    }

    /// Whether a history entry is about the person, so that an export shows it and an
    /// erasure redacts its values: an entry about one of their leads (`leads`) or their
    /// subscriber, or one whose values hold the address (a lead's address changed from
    /// or to theirs). The reference rule; a store may decide it in its own query language.
    pub fn concerns_entry(
        &self,
        entry: &HistoryEntry,
        leads: &[LeadId],
        subscriber: Option<SubscriberId>,
    ) -> bool {
        let about = match entry.object {
            HistoryObject::Lead(id) => leads.contains(&id),
            HistoryObject::Subscriber(id) => Some(id) == subscriber,
            HistoryObject::Person => false,
        };
        about
            || entry.changes.iter().any(|c| {
                [&c.old, &c.new]
                    .into_iter()
                    .flatten()
                    .any(|value| self.is(value))
            })
    }
}

/// See [`Person::json_forms`].
fn json_forms(email: &str) -> [String; 2] {
    let once = serde_json::Value::from(email).to_string();
    let twice = serde_json::Value::from(once.as_str()).to_string();
    // `twice` without its own quotes: the inner string as it appears in the outer.
    let inner = twice[1..twice.len() - 1].to_owned();
    [once, inner]
}

/// A mail sent (or to be sent) to the person, as an export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    /// When it was queued.
    pub at: Timestamp,
    /// Its subject.
    pub subject: String,
    /// Where it is in its life.
    pub status: DeliveryStatus,
}

impl MailRecord {
    /// A confirmation mail (the only kind sent to a person) queued at `at`.
    pub fn confirmation(at: Timestamp, status: DeliveryStatus) -> Self {
        Self {
            at,
            subject: messages::CONFIRM_SUBJECT.to_owned(),
            status,
        }
    }
}

/// Everything a store holds about one person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonData {
    /// Every lead with the address, oldest first.
    pub leads: Vec<Lead>,
    /// The subscriber with the address, with its consent record.
    pub subscriber: Option<Subscriber>,
    /// The mails to the address.
    pub deliveries: Vec<MailRecord>,
    /// The history entries about them ([`Person::concerns_entry`]), newest first.
    pub history: Vec<HistoryEntry>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Erased {
    /// Leads (with their client info).
    pub leads: u64,
    /// Subscribers (with their tokens and consent record): 0 or 1.
    pub subscribers: u64,
    /// Outbox messages about or to the person (mails, webhook calls), in any state.
    pub deliveries: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn person(email: &str) -> Person {
        Person::parse(&Payload::from_json(json!({ "email": email })).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_address_is_compared_as_stored() {
        let p = person("Ada@ＥＸＡＭＰＬＥ.com");
        assert_eq!(p.email(), "ada@example.com");
        assert!(p.is("ADA@example.com"));
        assert!(!p.is("ada@example.co"));
        assert!(
            Person::parse(&Payload::from_json(json!({"email": "nope"})).unwrap_or_default())
                .is_err()
        );
    }

    #[test]
    fn a_mention_is_a_whole_json_value_once_or_twice_encoded() {
        let p = person("bob@example.com");
        let lead = json!({"email": "Bob@Example.com", "full_name": "Bob"}).to_string();
        assert!(p.is_mentioned_in(&lead));
        let message = json!({"body": lead}).to_string();
        assert!(p.is_mentioned_in(&message));
        let other = json!({"email": "jimbob@example.com"}).to_string();
        assert!(!p.is_mentioned_in(&other));
        assert!(!p.is_mentioned_in(&json!({"body": other}).to_string()));
    }

    #[test]
    fn the_erasure_event_names_the_person_by_hash() {
        // printf 'ada@example.com' | sha256sum
        let hash = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72";
        assert_eq!(person("ADA@example.com").email_sha256(), hash);
    }
}
