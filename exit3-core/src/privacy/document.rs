//! One person's export as the JSON document every frontend hands out (the API's
//! `GET privacy/export/`, the command line, the staff site): leads and the subscriber as
//! the admin API shows them (exit3-server's `PersonExport`; a test there holds the two
//! forms equal).

use serde_json::{Value, json};

use super::{Person, PersonData};
use crate::{
    clock::to_rfc3339_micros,
    domain::HistoryEntry,
    events::{lead_json, subscriber_json},
};

/// A history entry as `GET leads/{id}/history/` answers it.
pub fn history_json(e: &HistoryEntry) -> Value {
    json!({
        "id": e.id.get(),
        "at": to_rfc3339_micros(e.at),
        "actor": e.actor.to_string(),
        "action": e.action.as_str(),
        "object": e.object.to_string(),
        "changes": e.changes.iter().map(|c| json!({
            "field": c.field, "old": c.old, "new": c.new,
        })).collect::<Vec<_>>(),
        "redacted": e.redacted,
    })
}

/// The export of `person`: `{"email", "leads", "subscriber", "history", "deliveries"}`.
pub fn export_json(person: &Person, data: &PersonData) -> Value {
    json!({
        "email": person.email(),
        "leads": data.leads.iter().map(lead_json).collect::<Vec<_>>(),
        "subscriber": data.subscriber.as_ref().map(subscriber_json),
        "history": data.history.iter().map(history_json).collect::<Vec<_>>(),
        "deliveries": data.deliveries.iter().map(|m| json!({
            "time": to_rfc3339_micros(m.at),
            "subject": m.subject,
            "status": m.status.as_str(),
        })).collect::<Vec<_>>(),
    })
}
