//! Retention (privacy.md §2) under the data lock: the oldest records a step takes, by the
//! core's rules, each with its history entry, a batch at a time.

use std::collections::HashSet;

use exit3_core::{
    HistoryObject, LeadId, Timestamp, events::Event, outbox::DeliveryStatus,
    privacy::RetentionStep, store::StoreResult,
};

use crate::Data;

impl Data {
    /// Applies `step` to up to `batch` records (see
    /// [`Maintenance::retain`](exit3_core::store::Maintenance::retain)).
    pub(crate) fn retain(
        &mut self,
        step: RetentionStep,
        before: Timestamp,
        batch: usize,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let mut gone: HashSet<HistoryObject> = HashSet::new();
        match step {
            RetentionStep::QuarantinedLeads | RetentionStep::Leads | RetentionStep::ClientInfo => {
                let taken: Vec<i64> = self
                    .leads
                    .values()
                    .filter(|l| step.takes_lead(l, before))
                    .map(|l| l.id.get())
                    .take(batch)
                    .collect();
                for id in taken {
                    let lead_id = LeadId::new(id).ok_or_else(|| {
                        exit3_core::StoreError::other("a stored lead without a valid id")
                    })?;
                    let object = HistoryObject::Lead(lead_id);
                    if step == RetentionStep::ClientInfo {
                        if let Some(info) =
                            self.leads.get_mut(&id).and_then(|l| l.client_info.as_mut())
                        {
                            info.ip_address = None;
                            info.user_agent = None;
                        }
                    } else if let Some(lead) = self.leads.remove(&id) {
                        self.unindex(&lead);
                        if lead.quarantine.is_none() {
                            self.announce(Some(Event::lead_deleted(lead_id, now)), now);
                        }
                    }
                    self.record(Some(step.entry(object, now)))?;
                    gone.insert(object);
                }
            }
            RetentionStep::QuarantinedSubscribers | RetentionStep::PendingSubscribers => {
                let taken: Vec<i64> = self
                    .subscribers
                    .values()
                    .filter(|s| step.takes_subscriber(s, before))
                    .map(|s| s.id.get())
                    .take(batch)
                    .collect();
                for id in taken {
                    if let Some(subscriber) = self.subscribers.remove(&id) {
                        self.emails.remove(&subscriber.email);
                        self.tokens.retain(|_, t| t.subscriber != subscriber.id);
                        let object = HistoryObject::Subscriber(subscriber.id);
                        self.record(Some(step.entry(object, now)))?;
                        gone.insert(object);
                    }
                }
            }
            RetentionStep::Deliveries => {
                let taken: Vec<i64> = self
                    .outbox
                    .iter()
                    .filter(|(_, q)| q.status != DeliveryStatus::Pending && q.updated_at < before)
                    .map(|(id, _)| *id)
                    .take(batch)
                    .collect();
                for id in &taken {
                    self.outbox.remove(id);
                }
                return Ok(taken.len() as u64);
            }
        }
        let taken = gone.len() as u64;
        if step.redacts_history() && !gone.is_empty() {
            for entry in &mut self.history {
                if gone.contains(&entry.object) {
                    entry.redact();
                }
            }
        }
        Ok(taken)
    }
}
