//! History entries on the wire (admin.md "History").

use exit3_core::{HistoryEntry, domain::FieldChange};
use poem_openapi::Object;
use serde::Serialize;

use super::{HistoryActionWire, WireTime};

/// One field's change.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "FieldChange")]
pub struct FieldChangeOut {
    /// The field, as the API names it (`status`, `email`, `notes`, …).
    pub field: String,
    /// Its value before; null when it was empty, or erased.
    #[oai(nullable)]
    pub old: Option<String>,
    /// Its value after; null when it became empty, or erased.
    #[oai(nullable)]
    pub new: Option<String>,
}

/// One write to a lead or subscriber.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "HistoryEntry")]
pub struct HistoryEntryOut {
    /// Increasing: newer entries have larger ids.
    pub id: i64,
    /// When the write happened.
    pub at: WireTime,
    /// Who made it: `staff:<username>`, `api:admin:<fingerprint>` (the admin key's
    /// SHA-256, first 8 bytes in hex), `api:public` (the public key and the links in
    /// mails), `system` (retention, the command line).
    pub actor: String,
    /// What it did.
    pub action: HistoryActionWire,
    /// What it was about: `lead:<id>`, `subscriber:<id>`, or `person` (an erasure).
    pub object: String,
    /// The fields a change changed, with their values before and after (empty for
    /// other actions).
    pub changes: Vec<FieldChangeOut>,
    /// True when an erasure removed the values (privacy.md §1).
    pub redacted: bool,
}

impl From<FieldChange> for FieldChangeOut {
    fn from(c: FieldChange) -> Self {
        Self {
            field: c.field,
            old: c.old,
            new: c.new,
        }
    }
}

impl From<HistoryEntry> for HistoryEntryOut {
    fn from(e: HistoryEntry) -> Self {
        Self {
            id: e.id.get(),
            at: WireTime(e.at),
            actor: e.actor.to_string(),
            action: e.action.into(),
            object: e.object.to_string(),
            changes: e.changes.into_iter().map(Into::into).collect(),
            redacted: e.redacted,
        }
    }
}

/// A page of history entries, newest first (DRF's page-number shape).
#[derive(Debug, Clone, Object, Serialize)]
pub struct HistoryPage {
    /// How many entries there are in all.
    pub count: u64,
    /// The next page's absolute URL, or null.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's absolute URL (page 1 without `page`), or null.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page's entries.
    pub results: Vec<HistoryEntryOut>,
}
