//! Filters and search: which rows a list shows, as the reference rules every store
//! must agree with.

use crate::{
    clock::Timestamp,
    domain::{Lead, LeadStatus, Subscriber, SubscriberStatus},
};

/// A case-insensitive substring to look for. `%` and `_` are plain characters.
///
/// The rule, shared by every store: both sides are lower-cased with Unicode's full
/// lower-case mapping (Rust's `str::to_lowercase`; in PostgreSQL `lower()` under the ICU
/// root collation, not a libc locale, which differs on final sigma and dotted capital I)
/// and the needle must occur in the haystack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search(String);

impl Search {
    /// A search for `text` (trimmed); `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(text.to_lowercase()))
    }

    /// The lower-cased needle.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `haystack` contains the needle, case-insensitively.
    pub fn matches(&self, haystack: &str) -> bool {
        haystack.to_lowercase().contains(&self.0)
    }
}

/// Which leads a list shows. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Exact status.
    pub status: Option<LeadStatus>,
    /// Exact source.
    pub source: Option<String>,
    /// Exact category.
    pub category: Option<String>,
    /// `created_at >= created_after` (inclusive).
    pub created_after: Option<Timestamp>,
    /// `created_at < created_before` (exclusive).
    pub created_before: Option<Timestamp>,
    /// In `full_name`, `company_name`, `email` or `position`.
    pub search: Option<Search>,
    /// Quarantined leads: left out unless asked for (`?quarantined=true|all`).
    pub quarantined: QuarantineFilter,
}

/// Which leads or subscribers a list shows by quarantine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QuarantineFilter {
    /// Only accepted ones (the default).
    #[default]
    Exclude,
    /// Only quarantined ones (`true`).
    Only,
    /// Both (`all`).
    All,
}

impl QuarantineFilter {
    /// The value of `?quarantined=`: `false`, `true` or `all`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "false" => Some(Self::Exclude),
            "true" => Some(Self::Only),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Whether a row with this quarantine state is shown.
    pub fn shows(self, quarantined: bool) -> bool {
        match self {
            Self::Exclude => !quarantined,
            Self::Only => quarantined,
            Self::All => true,
        }
    }
}

impl LeadFilter {
    /// `Some(status)` when the filter constrains the status at most (`Some(None)`: no
    /// filter at all) and leaves quarantined leads out, `None` when it constrains
    /// anything else. Stores serve these lists — the admin's usual ones — from
    /// per-status counts or indexes of accepted leads.
    pub fn status_only(&self) -> Option<Option<LeadStatus>> {
        self.status_and_quarantine()
            .filter(|(_, q)| *q == QuarantineFilter::Exclude)
            .map(|(status, _)| status)
    }

    /// `Some((status, quarantined))` when the filter constrains nothing but the status
    /// and the quarantine, `None` when it constrains anything else.
    pub fn status_and_quarantine(&self) -> Option<(Option<LeadStatus>, QuarantineFilter)> {
        // Destructured whole, so that a new filter field must be considered here.
        let Self {
            status,
            source,
            category,
            created_after,
            created_before,
            search,
            quarantined,
        } = self;
        (source.is_none()
            && category.is_none()
            && created_after.is_none()
            && created_before.is_none()
            && search.is_none())
        .then_some((*status, *quarantined))
    }

    /// Whether `lead` is shown: the reference rule for every store.
    pub fn matches(&self, lead: &Lead) -> bool {
        self.quarantined.shows(lead.quarantine.is_some())
            && self.status.is_none_or(|s| lead.status == s)
            && self.source.as_ref().is_none_or(|s| &lead.source == s)
            && self.category.as_ref().is_none_or(|c| &lead.category == c)
            && self.created_after.is_none_or(|t| lead.created_at >= t)
            && self.created_before.is_none_or(|t| lead.created_at < t)
            && self.search.as_ref().is_none_or(|s| {
                s.matches(&lead.full_name)
                    || s.matches(&lead.position)
                    || lead.company_name.as_deref().is_some_and(|c| s.matches(c))
                    || lead.email.as_deref().is_some_and(|e| s.matches(e))
            })
    }
}

/// Which subscribers a list shows. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberFilter {
    /// Exact status.
    pub status: Option<SubscriberStatus>,
    /// Exact source.
    pub source: Option<String>,
    /// In `email` or `full_name`.
    pub search: Option<Search>,
    /// Quarantined subscribers: left out unless asked for (`?quarantined=true|all`).
    pub quarantined: QuarantineFilter,
}

impl SubscriberFilter {
    /// Whether `subscriber` is shown: the reference rule for every store.
    pub fn matches(&self, subscriber: &Subscriber) -> bool {
        self.quarantined.shows(subscriber.quarantine.is_some())
            && self.status.is_none_or(|s| subscriber.status == s)
            && self.source.as_ref().is_none_or(|s| &subscriber.source == s)
            && self.search.as_ref().is_none_or(|s| {
                s.matches(&subscriber.email)
                    || subscriber
                        .full_name
                        .as_deref()
                        .is_some_and(|n| s.matches(n))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_filters_are_told_apart() {
        assert_eq!(LeadFilter::default().status_only(), Some(None));
        let by_status = LeadFilter {
            status: Some(LeadStatus::New),
            ..LeadFilter::default()
        };
        assert_eq!(by_status.status_only(), Some(Some(LeadStatus::New)));
        let more = LeadFilter {
            source: Some("website".into()),
            ..by_status
        };
        assert_eq!(more.status_only(), None);
    }

    #[test]
    fn search_is_case_insensitive_and_literal() {
        let s = Search::new("ÉCOLE_%").unwrap_or_else(|| panic!("non-empty"));
        assert!(s.matches("l'école_% du coin"));
        assert!(!s.matches("l'école du coin"));
        assert_eq!(Search::new("  "), None);
    }
}
