//! Leads: the creation-order sets the usual lists read, and the lead capability, each
//! write under the data lock with its events and history entry.

use std::{cmp, collections::BTreeSet};

use async_trait::async_trait;
use exit3_core::{
    Actor, HistoryAction, HistoryObject, Lead, LeadFilter, LeadId, LeadPatch, NewLead, Ordering,
    Page, PageRequest, SortField, ThrottleHit, Timestamp,
    clock::to_micros,
    domain::NewHistoryEntry,
    events::{Event, EventType, LeadCreated, LeadEffects},
    store::{Admitted, LeadStore, StoreError, StoreResult, hit_then_insert},
};

use crate::{Data, MemoryStore, first_of, page_of, read, write};

impl Data {
    /// A list filtered by status alone (or not at all) in creation order, read from the
    /// creation-order sets: O(offset + page size), the count O(1). `None` for any other
    /// list (scanned instead). Creation order is `compare_leads` for `created_at`: by
    /// time, then id, both in the list's direction.
    fn list_by_creation(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> Option<Page<Lead>> {
        if ordering.field != SortField::CreatedAt {
            return None;
        }
        let empty = BTreeSet::new();
        let set = match filter.status_only()? {
            None => &self.by_created,
            Some(status) => self.by_status_created.get(&status).unwrap_or(&empty),
        };
        let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let size = page.page_size() as usize;
        let ids: Box<dyn Iterator<Item = &(Timestamp, i64)>> = if ordering.descending {
            Box::new(set.iter().rev())
        } else {
            Box::new(set.iter())
        };
        let items = ids
            .skip(start)
            .take(size)
            .filter_map(|(_, id)| self.leads.get(id).cloned())
            .collect();
        Some(Page {
            items,
            count: set.len() as u64,
            request: page,
        })
    }
}

#[async_trait]
impl LeadStore for MemoryStore {
    /// The decision, then the insert: each is atomic on its own, and nothing else of the
    /// call can fail in between.
    async fn insert_lead_admitted(
        &self,
        hits: &[ThrottleHit],
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Admitted<Lead>> {
        hit_then_insert(self, hits, lead, effects, actor, now).await
    }

    async fn insert_lead(
        &self,
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Lead> {
        let mut data = write(&self.data);
        let id = data.last_lead_id + 1;
        let id_ = LeadId::new(id).ok_or_else(|| StoreError::other("lead id overflow"))?;
        // The event is rendered only when someone will hear of it.
        let listening = data
            .webhooks
            .values()
            .any(|e| e.listens(EventType::LeadCreated));
        if effects.heard(listening) {
            let created = LeadCreated::new(lead, now, effects);
            for message in created.messages(id_, data.webhooks.values()) {
                data.enqueue(message, now);
            }
        }
        let lead = lead.clone().into_lead(id_, now);
        data.last_lead_id = id;
        if lead.quarantine.is_none() {
            data.index(&lead);
        }
        data.leads.insert(id, lead.clone());
        let object = HistoryObject::Lead(id_);
        data.record(Some(NewHistoryEntry::new(
            actor,
            HistoryAction::Created,
            object,
            now,
        )))?;
        Ok(lead)
    }

    async fn release_lead(
        &self,
        id: LeadId,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        let mut data = write(&self.data);
        let Some(lead) = data.leads.get_mut(&id.get()) else {
            return Ok(None);
        };
        let before = lead.clone();
        if lead.quarantine.take().is_none() {
            return Ok(Some(lead.clone()));
        }
        let lead = lead.clone();
        data.index(&lead);
        data.record(NewHistoryEntry::lead(
            actor,
            HistoryAction::Released,
            &before,
            &lead,
            now,
        ))?;
        let created = LeadCreated::for_stored(&lead, now, effects);
        for message in created.messages(id, data.webhooks.values()) {
            data.enqueue(message, now);
        }
        Ok(Some(lead))
    }

    async fn get_lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        Ok(read(&self.data).leads.get(&id.get()).cloned())
    }

    async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        let mut data = write(&self.data);
        let Some(lead) = data.leads.get_mut(&id.get()) else {
            return Ok(None);
        };
        let before = lead.clone();
        let was = lead.status;
        patch.apply(lead, now);
        let lead = lead.clone();
        data.record(NewHistoryEntry::lead(
            actor,
            HistoryAction::Changed,
            &before,
            &lead,
            now,
        ))?;
        // Quarantined leads are in no index.
        if lead.status != was && lead.quarantine.is_none() {
            let entry = (lead.created_at, id.get());
            if let Some(set) = data.by_status_created.get_mut(&was) {
                set.remove(&entry);
            }
            data.by_status_created
                .entry(lead.status)
                .or_default()
                .insert(entry);
        }
        // A quarantined lead is silent until released.
        if lead.quarantine.is_none() {
            data.announce(Some(Event::lead_updated(&lead, now)), now);
        }
        Ok(Some(lead))
    }

    async fn delete_lead(&self, id: LeadId, actor: &Actor, now: Timestamp) -> StoreResult<bool> {
        let mut data = write(&self.data);
        let Some(lead) = data.leads.remove(&id.get()) else {
            return Ok(false);
        };
        data.record(Some(NewHistoryEntry::new(
            actor,
            HistoryAction::Deleted,
            HistoryObject::Lead(id),
            now,
        )))?;
        if lead.quarantine.is_none() {
            data.announce(Some(Event::lead_deleted(id, now)), now);
        }
        data.unindex(&lead);
        Ok(true)
    }

    async fn list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>> {
        let data = read(&self.data);
        if let Some(listed) = data.list_by_creation(filter, ordering, page) {
            return Ok(listed);
        }
        let page = page_of(
            data.leads.values(),
            |l| filter.matches(l),
            |a, b| ordering.compare_leads(a, b),
            page,
        );
        Ok(page.map(Lead::clone))
    }

    async fn list_leads_after(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        after: Option<&Lead>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        let data = read(&self.data);
        let batch = first_of(
            data.leads.values(),
            |l| {
                filter.matches(l)
                    && after.is_none_or(|a| ordering.compare_leads(l, a) == cmp::Ordering::Greater)
            },
            |a, b| ordering.compare_leads(a, b),
            limit,
        );
        Ok(batch.into_iter().cloned().collect())
    }

    async fn count_leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>> {
        const DAY: i64 = 86_400_000_000;
        let start = to_micros(first);
        let end = start.saturating_add(DAY.saturating_mul(i64::from(days)));
        let mut counts = vec![0; days as usize];
        // Accepted leads only: the creation-order set holds exactly those.
        for (created, _) in read(&self.data)
            .by_created
            .range((first, i64::MIN)..)
            .take_while(|(c, _)| to_micros(*c) < end)
        {
            let day = (to_micros(*created) - start) / DAY;
            if let Some(n) = usize::try_from(day).ok().and_then(|d| counts.get_mut(d)) {
                *n += 1;
            }
        }
        Ok(counts)
    }
}
