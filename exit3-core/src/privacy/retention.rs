//! Retention (privacy.md §2): personal data kept no longer than needed. Each
//! [`RetentionStep`] removes (or, for client info, clears) what has been kept longer than
//! its setting says, in batches, as a step of the maintenance task — never on a request's
//! path. The rules of which record a step takes are here, once; stores apply them in
//! their own query language and pass the conformance suite's tests of them.

use std::time::Duration;

use crate::{
    choice_enum,
    clock::Timestamp,
    domain::{
        Actor, FieldChange, HistoryAction, HistoryObject, Lead, NewHistoryEntry, Subscriber,
        SubscriberStatus,
    },
};

choice_enum!(
    /// What a retention step removes; the names are the `what` of
    /// `exit3_retention_removed_total`.
    RetentionStep {
        /// Quarantined leads, by the time their quarantine began
        /// (`RETENTION_QUARANTINE_DAYS`).
        QuarantinedLeads = "quarantined_leads",
        /// Quarantined subscriptions, likewise.
        QuarantinedSubscribers = "quarantined_subscribers",
        /// Subscribers still `pending`, by their last change (`RETENTION_PENDING_DAYS`):
        /// who never confirmed gave no consent to keep.
        PendingSubscribers = "pending_subscribers",
        /// The `ip_address` and `user_agent` of leads' client info, by the lead's
        /// creation (`RETENTION_CLIENT_INFO_DAYS`); the UTM fields and the referrer stay.
        ClientInfo = "client_info",
        /// Leads, whatever their status, by their creation (`RETENTION_LEAD_DAYS`).
        Leads = "leads",
        /// Finished outbox messages (delivered, failed, skipped), by their last attempt
        /// (`RETENTION_DELIVERIES_DAYS`).
        Deliveries = "deliveries",
    }
);

/// How long each kind of data is kept: a step with `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `RETENTION_QUARANTINE_DAYS` (default 30): quarantined leads and subscriptions.
    pub quarantine: Option<Duration>,
    /// `RETENTION_PENDING_DAYS` (default 30).
    pub pending: Option<Duration>,
    /// `RETENTION_CLIENT_INFO_DAYS` (default off).
    pub client_info: Option<Duration>,
    /// `RETENTION_LEAD_DAYS` (default off).
    pub leads: Option<Duration>,
    /// `RETENTION_DELIVERIES_DAYS` (default 30).
    pub deliveries: Option<Duration>,
}

/// A day.
pub const DAY: Duration = Duration::from_secs(86_400);

impl Default for RetentionPolicy {
    /// privacy.md §2's defaults.
    fn default() -> Self {
        Self {
            quarantine: Some(30 * DAY),
            pending: Some(30 * DAY),
            client_info: None,
            leads: None,
            deliveries: Some(30 * DAY),
        }
    }
}

impl RetentionPolicy {
    /// Nothing is ever removed (for embedders that keep their own rules).
    pub fn off() -> Self {
        Self {
            quarantine: None,
            pending: None,
            client_info: None,
            leads: None,
            deliveries: None,
        }
    }

    /// How long `step` keeps its data, or `None` when it is off.
    pub fn keep(&self, step: RetentionStep) -> Option<Duration> {
        match step {
            RetentionStep::QuarantinedLeads | RetentionStep::QuarantinedSubscribers => {
                self.quarantine
            }
            RetentionStep::PendingSubscribers => self.pending,
            RetentionStep::ClientInfo => self.client_info,
            RetentionStep::Leads => self.leads,
            RetentionStep::Deliveries => self.deliveries,
        }
    }

    /// The steps that are on, each with its cut-off at `now`: what is older goes.
    pub fn due(&self, now: Timestamp) -> Vec<(RetentionStep, Timestamp)> {
        RetentionStep::ALL
            .iter()
            .filter_map(|&step| {
                let keep = self.keep(step)?;
                let keep = time::Duration::try_from(keep).unwrap_or(time::Duration::MAX);
                Some((
                    step,
                    now.checked_sub(keep)
                        .unwrap_or(time::PrimitiveDateTime::MIN.assume_utc()),
                ))
            })
            .collect()
    }
}

impl RetentionStep {
    /// Whether this step takes `lead` with the cut-off `before`: the reference rule.
    pub fn takes_lead(self, lead: &Lead, before: Timestamp) -> bool {
        match self {
            Self::QuarantinedLeads => lead.quarantine.as_ref().is_some_and(|q| q.at < before),
            Self::Leads => lead.created_at < before,
            Self::ClientInfo => {
                lead.created_at < before
                    && lead
                        .client_info
                        .as_ref()
                        .is_some_and(|c| c.ip_address.is_some() || c.user_agent.is_some())
            }
            _ => false,
        }
    }

    /// Whether this step takes `subscriber` with the cut-off `before`.
    pub fn takes_subscriber(self, subscriber: &Subscriber, before: Timestamp) -> bool {
        match self {
            Self::QuarantinedSubscribers => subscriber
                .quarantine
                .as_ref()
                .is_some_and(|q| q.at < before),
            Self::PendingSubscribers => {
                subscriber.status == SubscriberStatus::Pending && subscriber.updated_at < before
            }
            _ => false,
        }
    }

    /// The history entry of what this step did to `object` at `now`: a deletion, or for
    /// client info the two cleared fields, without their values (by `system`).
    pub fn entry(self, object: HistoryObject, now: Timestamp) -> NewHistoryEntry {
        let actor = Actor::System;
        match self {
            Self::ClientInfo => NewHistoryEntry {
                changes: ["ip_address", "user_agent"]
                    .into_iter()
                    .map(|field| FieldChange {
                        field: format!("client_info.{field}"),
                        old: None,
                        new: None,
                    })
                    .collect(),
                ..NewHistoryEntry::new(&actor, HistoryAction::Changed, object, now)
            },
            _ => NewHistoryEntry::new(&actor, HistoryAction::Deleted, object, now),
        }
    }

    /// Whether what the step removes also has its history's values redacted: a record
    /// kept no longer than needed leaves no copy of its values in the history (what was
    /// done, and when, stays).
    pub fn redacts_history(self) -> bool {
        // The history never holds client info's values, nor anything of an outbox row.
        !matches!(self, Self::ClientInfo | Self::Deliveries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_micros;

    #[test]
    fn the_defaults_are_the_contracts_and_off_steps_are_not_due() {
        let now = from_micros(100 * 86_400_000_000);
        let due = RetentionPolicy::default().due(now);
        let steps: Vec<_> = due.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            steps,
            [
                "quarantined_leads",
                "quarantined_subscribers",
                "pending_subscribers",
                "deliveries"
            ]
        );
        assert!(
            due.iter()
                .all(|(_, t)| *t == from_micros(70 * 86_400_000_000))
        );
        assert!(RetentionPolicy::off().due(now).is_empty());
        let forever = RetentionPolicy {
            leads: Some(Duration::MAX),
            ..RetentionPolicy::off()
        };
        assert_eq!(
            forever.due(now).len(),
            1,
            "a cut-off before any time, not a panic"
        );
    }
}
