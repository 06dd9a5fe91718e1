//! The change history (admin.md "History"): every write to a lead or subscriber — by a
//! staff user, an API key, a visitor's link, or the system — leaves an entry saying who
//! did what to which object, and for changes which fields went from what to what.
//!
//! The entries are made here, from the record before and after the write, so that every
//! store writes the same history in the same call as the change (and no frontend can
//! forget one). A store only keeps and lists them.

use std::fmt;

use super::{Lead, LeadId, Subscriber, SubscriberId};
use crate::{choice_enum, clock::Timestamp, id_type};

id_type!(
    /// A history entry's id: entries are listed newest first by it.
    HistoryId
);

choice_enum!(
    /// What a write did.
    HistoryAction {
        /// The object was made (a lead stored, a new address subscribed).
        Created = "created",
        /// Fields changed (listed with their old and new values).
        Changed = "changed",
        /// The object was deleted.
        Deleted = "deleted",
        /// A quarantine ended by a staff decision (capture.md §1).
        Released = "released",
        /// A subscriber confirmed their address.
        Confirmed = "confirmed",
        /// A subscriber left the list.
        Unsubscribed = "unsubscribed",
        /// A person's data was erased (privacy.md §1).
        Erased = "erased",
    }
);

/// Who made a change, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A signed-in staff user: `staff:<username>`.
    Staff(String),
    /// The admin API key: `api:admin:<fingerprint>` (the first 8 bytes of the key's
    /// SHA-256 in hex: which key, without the key).
    AdminKey(String),
    /// The public surface: the public API key, and the links in mails (confirm and
    /// unsubscribe pages, one-click unsubscribes): `api:public`.
    Public,
    /// The system itself: retention, the command line: `system`.
    System,
}

impl Actor {
    /// Reads an actor from its text form (as stores keep it and filters name it).
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(name) = text.strip_prefix("staff:") {
            return (!name.is_empty()).then(|| Self::Staff(name.to_owned()));
        }
        if let Some(fingerprint) = text.strip_prefix("api:admin:") {
            return (!fingerprint.is_empty()).then(|| Self::AdminKey(fingerprint.to_owned()));
        }
        match text {
            "api:public" => Some(Self::Public),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Staff(name) => write!(f, "staff:{name}"),
            Self::AdminKey(fingerprint) => write!(f, "api:admin:{fingerprint}"),
            Self::Public => f.write_str("api:public"),
            Self::System => f.write_str("system"),
        }
    }
}

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryObject {
    /// `lead:<id>`.
    Lead(LeadId),
    /// `subscriber:<id>`.
    Subscriber(SubscriberId),
    /// `person`: an erasure, which names nobody (the address is what it removed).
    Person,
}

impl HistoryObject {
    /// `lead`, `subscriber` or `person`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Lead(_) => "lead",
            Self::Subscriber(_) => "subscriber",
            Self::Person => "person",
        }
    }

    /// The object's id (none for a person).
    pub fn id(self) -> Option<i64> {
        match self {
            Self::Lead(id) => Some(id.get()),
            Self::Subscriber(id) => Some(id.get()),
            Self::Person => None,
        }
    }

    /// The object of `kind` and `id` as stores keep them.
    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Self> {
        match (kind, id) {
            ("lead", Some(id)) => LeadId::new(id).map(Self::Lead),
            ("subscriber", Some(id)) => SubscriberId::new(id).map(Self::Subscriber),
            ("person", None) => Some(Self::Person),
            _ => None,
        }
    }

    /// Reads `lead:12`, `subscriber:3` or `person` (a filter's value).
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once(':') {
            Some((kind, id)) => Self::from_parts(kind, Some(id.parse().ok()?)),
            None => Self::from_parts(text, None),
        }
    }
}

impl fmt::Display for HistoryObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}:{id}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// One field's change: its name and its values before and after (`None`: empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's name as the API calls it (`status`, `email`, …).
    pub field: String,
    /// Before.
    pub old: Option<String>,
    /// After.
    pub new: Option<String>,
}

/// An entry to be written, made by the constructors below from the records a store has
/// before and after its write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryEntry {
    /// When the write happened.
    pub at: Timestamp,
    /// Who made it.
    pub actor: Actor,
    /// What it did.
    pub action: HistoryAction,
    /// To what.
    pub object: HistoryObject,
    /// The fields it changed, in the API's field order (empty for a creation, a deletion
    /// or an erasure: the record itself holds its values).
    pub changes: Vec<FieldChange>,
}

/// A stored history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Given by the store, increasing.
    pub id: HistoryId,
    /// When the write happened.
    pub at: Timestamp,
    /// Who made it.
    pub actor: Actor,
    /// What it did.
    pub action: HistoryAction,
    /// To what.
    pub object: HistoryObject,
    /// The fields it changed (their values gone when `redacted`).
    pub changes: Vec<FieldChange>,
    /// Set when an erasure removed the values (the field names stay: what was changed,
    /// not to what).
    pub redacted: bool,
}

impl NewHistoryEntry {
    /// An entry without field changes.
    pub fn new(actor: &Actor, action: HistoryAction, object: HistoryObject, at: Timestamp) -> Self {
        Self {
            at,
            actor: actor.clone(),
            action,
            object,
            changes: Vec::new(),
        }
    }

    /// A lead's write (`Changed`, `Released`): the tracked fields that differ between
    /// `before` and `after`. `None` for a change that changed nothing: a PATCH that sends
    /// the values a lead already has is not worth an entry.
    pub fn lead(
        actor: &Actor,
        action: HistoryAction,
        before: &Lead,
        after: &Lead,
        at: Timestamp,
    ) -> Option<Self> {
        let changes = diff(&lead_fields(before), &lead_fields(after));
        (action != HistoryAction::Changed || !changes.is_empty()).then(|| Self {
            changes,
            ..Self::new(actor, action, HistoryObject::Lead(after.id), at)
        })
    }

    /// A subscriber's write: `Created` when there was none `before` (no field changes),
    /// otherwise `action` with the tracked fields that differ. `None` for a `Changed` that
    /// changed nothing (subscribing an address that is already active).
    pub fn subscriber(
        actor: &Actor,
        action: HistoryAction,
        before: Option<&Subscriber>,
        after: &Subscriber,
        at: Timestamp,
    ) -> Option<Self> {
        let object = HistoryObject::Subscriber(after.id);
        let Some(before) = before else {
            return Some(Self::new(actor, HistoryAction::Created, object, at));
        };
        let changes = diff(&subscriber_fields(before), &subscriber_fields(after));
        (action != HistoryAction::Changed || !changes.is_empty()).then(|| Self {
            changes,
            ..Self::new(actor, action, object, at)
        })
    }

    /// The stored entry this becomes, for stores that build it themselves.
    pub fn into_entry(self, id: HistoryId) -> HistoryEntry {
        HistoryEntry {
            id,
            at: self.at,
            actor: self.actor,
            action: self.action,
            object: self.object,
            changes: self.changes,
            redacted: false,
        }
    }
}

impl HistoryEntry {
    /// Removes every value, keeping which fields changed (what an erasure leaves). An
    /// entry without values stays as it is.
    pub fn redact(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        for change in &mut self.changes {
            change.old = None;
            change.new = None;
        }
        self.redacted = true;
    }
}

/// Which entries a history list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only this actor's.
    pub actor: Option<Actor>,
    /// Only about this object.
    pub object: Option<HistoryObject>,
}

impl HistoryFilter {
    /// The entries about `object`.
    pub fn of(object: HistoryObject) -> Self {
        Self {
            actor: None,
            object: Some(object),
        }
    }

    /// Whether `entry` is shown: the reference rule every store must match.
    pub fn matches(&self, entry: &HistoryEntry) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == entry.actor)
            && self.object.is_none_or(|o| o == entry.object)
    }
}

type Fields = Vec<(&'static str, Option<String>)>;

/// The tracked fields of a lead, in the API's order (client info and timestamps are
/// never changed by a write, and the quarantine has actions of its own).
fn lead_fields(lead: &Lead) -> Fields {
    vec![
        ("full_name", Some(lead.full_name.clone())),
        ("position", Some(lead.position.clone())),
        ("company_name", lead.company_name.clone()),
        ("email", lead.email.clone()),
        ("phone", lead.phone.clone()),
        ("message", lead.message.clone()),
        ("status", Some(lead.status.as_str().to_owned())),
        ("source", Some(lead.source.clone())),
        ("category", Some(lead.category.clone())),
        ("notes", Some(lead.notes.clone()).filter(|n| !n.is_empty())),
    ]
}

/// The tracked fields of a subscriber.
fn subscriber_fields(subscriber: &Subscriber) -> Fields {
    vec![
        ("email", Some(subscriber.email.clone())),
        ("full_name", subscriber.full_name.clone()),
        ("status", Some(subscriber.status.as_str().to_owned())),
        ("source", Some(subscriber.source.clone())),
    ]
}

fn diff(before: &Fields, after: &Fields) -> Vec<FieldChange> {
    before
        .iter()
        .zip(after)
        .filter(|((_, old), (_, new))| old != new)
        .map(|((field, old), (_, new))| FieldChange {
            field: (*field).to_owned(),
            old: old.clone(),
            new: new.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadStatus, clock::from_micros};

    fn lead() -> Lead {
        Lead {
            id: LeadId::new(7).expect("positive"),
            full_name: "Ada".into(),
            position: "CTO".into(),
            company_name: None,
            email: Some("ada@example.com".into()),
            phone: None,
            message: None,
            status: LeadStatus::New,
            source: "website".into(),
            category: "other".into(),
            notes: String::new(),
            client_info: None,
            created_at: from_micros(0),
            updated_at: from_micros(0),
            quarantine: None,
        }
    }

    #[test]
    fn a_change_lists_exactly_the_fields_that_differ_in_api_order() {
        let before = lead();
        let mut after = before.clone();
        after.status = LeadStatus::Contacted;
        after.company_name = Some("Engines".into());
        after.notes = "called back".into();
        after.updated_at = from_micros(9);
        let entry = NewHistoryEntry::lead(
            &Actor::Staff("bob".into()),
            HistoryAction::Changed,
            &before,
            &after,
            from_micros(9),
        )
        .expect("an entry");
        let changes: Vec<_> = entry
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref()))
            .collect();
        assert_eq!(
            changes,
            [
                ("company_name", None, Some("Engines")),
                ("status", Some("new"), Some("contacted")),
                ("notes", None, Some("called back")),
            ]
        );
        assert_eq!(entry.object.to_string(), "lead:7");
        assert_eq!(entry.actor.to_string(), "staff:bob");
    }

    #[test]
    fn a_change_that_changes_nothing_is_no_entry_but_a_release_is() {
        let before = lead();
        let actor = Actor::System;
        let at = from_micros(1);
        assert_eq!(
            NewHistoryEntry::lead(&actor, HistoryAction::Changed, &before, &before, at),
            None
        );
        let released = NewHistoryEntry::lead(&actor, HistoryAction::Released, &before, &before, at);
        assert_eq!(released.map(|e| e.action), Some(HistoryAction::Released));
    }

    #[test]
    fn actors_and_objects_read_back_what_they_write() {
        for actor in [
            Actor::Staff("ada.l@x".into()),
            Actor::AdminKey("0123456789abcdef".into()),
            Actor::Public,
            Actor::System,
        ] {
            assert_eq!(Actor::parse(&actor.to_string()), Some(actor));
        }
        for object in [
            HistoryObject::Lead(LeadId::new(3).expect("positive")),
            HistoryObject::Subscriber(SubscriberId::new(9).expect("positive")),
            HistoryObject::Person,
        ] {
            assert_eq!(HistoryObject::parse(&object.to_string()), Some(object));
        }
        for bad in [
            "",
            "staff:",
            "api:admin:",
            "lead:0",
            "lead:x",
            "lead",
            "person:1",
        ] {
            assert_eq!(
                (Actor::parse(bad), HistoryObject::parse(bad)),
                (None, None),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_redacted_entry_keeps_its_fields_without_values() {
        let mut after = lead();
        after.email = Some("other@example.com".into());
        let mut entry = NewHistoryEntry::lead(
            &Actor::Public,
            HistoryAction::Changed,
            &lead(),
            &after,
            from_micros(1),
        )
        .expect("an entry")
        .into_entry(HistoryId::new(1).expect("positive"));
        entry.redact();
        assert!(entry.redacted);
        assert_eq!(entry.changes.len(), 1);
        assert_eq!(entry.changes[0].field, "email");
        assert_eq!(
            (entry.changes[0].old.clone(), entry.changes[0].new.clone()),
            (None, None)
        );
    }
}
