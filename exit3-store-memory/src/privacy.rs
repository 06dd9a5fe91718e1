//! One person's export and erasure, over every collection the store keeps.

use async_trait::async_trait;
use exit3_core::{
    Actor, HistoryAction, HistoryObject, LeadId, SubscriberId, Timestamp,
    domain::NewHistoryEntry,
    events::Event,
    outbox::OutboxMessage,
    privacy::{Erased, MailRecord, Person, PersonData},
    store::{PrivacyStore, StoreResult},
};

use crate::{Data, MemoryStore, lock, read, write};

#[async_trait]
impl PrivacyStore for MemoryStore {
    async fn person_data(&self, person: &Person) -> StoreResult<PersonData> {
        let data = read(&self.data);
        let leads: Vec<exit3_core::Lead> = data
            .leads
            .values()
            .filter(|l| l.email.as_deref().is_some_and(|e| person.is(e)))
            .cloned()
            .collect();
        let subscriber = data
            .emails
            .get(person.email())
            .and_then(|id| data.subscribers.get(id))
            .cloned();
        let deliveries = subscriber
            .as_ref()
            .map(|s| {
                data.outbox
                    .values()
                    .filter(|q| {
                        matches!(q.message, OutboxMessage::Confirmation { subscriber } if subscriber == s.id)
                    })
                    .map(|q| MailRecord::confirmation(q.created_at, q.status))
                    .collect()
            })
            .unwrap_or_default();
        let lead_ids: Vec<LeadId> = leads.iter().map(|l| l.id).collect();
        let history = data
            .history
            .iter()
            .rev()
            .filter(|e| person.concerns_entry(e, &lead_ids, subscriber.as_ref().map(|s| s.id)))
            .cloned()
            .collect();
        Ok(PersonData {
            leads,
            subscriber,
            deliveries,
            history,
        })
    }

    async fn erase_person(
        &self,
        person: &Person,
        erased: &Event,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Erased> {
        let mut data = write(&self.data);
        let leads: Vec<i64> = data
            .leads
            .values()
            .filter(|l| l.email.as_deref().is_some_and(|e| person.is(e)))
            .map(|l| l.id.get())
            .collect();
        for id in &leads {
            if let Some(lead) = data.leads.remove(id) {
                data.unindex(&lead);
            }
        }
        let subscriber = data.emails.remove(person.email());
        if let Some(id) = subscriber {
            data.subscribers.remove(&id);
            data.tokens.retain(|_, t| t.subscriber.get() != id);
        }
        let before = data.outbox.len();
        let to = subscriber.and_then(SubscriberId::new);
        data.outbox.retain(|_, q| !person.concerns(&q.message, to));
        let deliveries = (before - data.outbox.len()) as u64;
        let Data {
            outbox, pending, ..
        } = &mut *data;
        pending.retain(|(_, id)| outbox.contains_key(id));
        lock(&self.idempotency).forget(|body| person.is_mentioned_in(body));
        let lead_ids: Vec<LeadId> = leads.iter().copied().filter_map(LeadId::new).collect();
        for entry in &mut data.history {
            if person.concerns_entry(entry, &lead_ids, to) {
                entry.redact();
            }
        }
        data.announce(Some(erased.clone()), now);
        data.record(Some(NewHistoryEntry::new(
            actor,
            HistoryAction::Erased,
            HistoryObject::Person,
            now,
        )))?;
        Ok(Erased {
            leads: leads.len() as u64,
            subscribers: u64::from(subscriber.is_some()),
            deliveries,
        })
    }
}
