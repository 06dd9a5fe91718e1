//! A store that wraps another: [`Decorated`] forwards every call of every capability to
//! the inner store, running a [`StoreHook`] before and after — so that a decorator
//! (counting errors for metrics, failing on demand in a test, logging) is a hook of a
//! few lines, and a new store method is forwarded here once for all of them.

use std::fmt::Debug;

use async_trait::async_trait;

mod delivery;
mod staff;

use super::{
    Admitted, ConfirmOutcome, DynStore, HealthCheck, HistoryStore, IdempotencyStore, LeadStore,
    Maintenance, PrivacyStore, StoreCall, StoreError, StoreResult, SubscriberStore, ThrottleStore,
    UnsubscribeTarget,
};
use crate::{
    clock::Timestamp,
    domain::{
        Actor, HistoryEntry, HistoryFilter, Lead, LeadId, LeadPatch, NewLead, RequestFacts,
        SubscribeOutcome, SubscribeRequest, Subscriber, SubscriberId, SubscriberPatch,
        UnsubscribeMethod,
    },
    events::{Event, LeadEffects},
    idempotency::{Begun, Fingerprint, RecordKey, StoredAnswer},
    privacy::{Erased, Person, PersonData, RetentionStep},
    query::{LeadFilter, Ordering, Page, PageRequest, SubscriberFilter},
    throttle::{ThrottleDecision, ThrottleHit},
    tokens::TokenHash,
};

/// What a decorator does around each call.
#[async_trait]
pub trait StoreHook: Send + Sync + Debug + 'static {
    /// Runs before `call`; an error answers the call without reaching the inner store.
    async fn before(&self, call: StoreCall) -> StoreResult<()> {
        let _ = call;
        Ok(())
    }

    /// Sees how `call` ended.
    fn after(&self, call: StoreCall, outcome: Result<(), &StoreError>) {
        let _ = (call, outcome);
    }
}

/// A store that runs `hook` around every call of `inner`.
#[derive(Debug)]
pub struct Decorated<H> {
    inner: DynStore,
    hook: H,
}

impl<H: StoreHook> Decorated<H> {
    /// `inner`, with `hook` around each of its calls.
    pub fn new(inner: DynStore, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The store underneath.
    pub fn inner(&self) -> &DynStore {
        &self.inner
    }

    async fn run<T: Send>(
        &self,
        call: StoreCall,
        inner: impl Future<Output = StoreResult<T>> + Send,
    ) -> StoreResult<T> {
        self.hook.before(call).await?;
        let outcome = inner.await;
        self.hook.after(call, outcome.as_ref().map(|_| ()));
        outcome
    }
}

#[async_trait]
impl<H: StoreHook> LeadStore for Decorated<H> {
    async fn insert_lead(
        &self,
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Lead> {
        self.run(
            StoreCall::InsertLead,
            self.inner.insert_lead(lead, effects, actor, now),
        )
        .await
    }
    async fn insert_lead_admitted(
        &self,
        hits: &[ThrottleHit],
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Admitted<Lead>> {
        self.run(
            StoreCall::InsertLeadAdmitted,
            self.inner
                .insert_lead_admitted(hits, lead, effects, actor, now),
        )
        .await
    }
    async fn get_lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        self.run(StoreCall::GetLead, self.inner.get_lead(id)).await
    }
    async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        self.run(
            StoreCall::UpdateLead,
            self.inner.update_lead(id, patch, actor, now),
        )
        .await
    }
    async fn release_lead(
        &self,
        id: LeadId,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        self.run(
            StoreCall::ReleaseLead,
            self.inner.release_lead(id, effects, actor, now),
        )
        .await
    }
    async fn delete_lead(&self, id: LeadId, actor: &Actor, now: Timestamp) -> StoreResult<bool> {
        self.run(
            StoreCall::DeleteLead,
            self.inner.delete_lead(id, actor, now),
        )
        .await
    }
    async fn list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>> {
        self.run(
            StoreCall::ListLeads,
            self.inner.list_leads(filter, ordering, page),
        )
        .await
    }
    async fn list_leads_after(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        after: Option<&Lead>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        self.run(
            StoreCall::ListLeadsAfter,
            self.inner.list_leads_after(filter, ordering, after, limit),
        )
        .await
    }
    async fn count_leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>> {
        self.run(
            StoreCall::CountLeadsByDay,
            self.inner.count_leads_by_day(first, days),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> SubscriberStore for Decorated<H> {
    async fn subscribe(
        &self,
        request: &SubscribeRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)> {
        self.run(
            StoreCall::Subscribe,
            self.inner.subscribe(request, actor, now),
        )
        .await
    }
    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Option<Subscriber>> {
        self.run(StoreCall::GetSubscriber, self.inner.get_subscriber(id))
            .await
    }
    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        self.run(
            StoreCall::UpdateSubscriber,
            self.inner.update_subscriber(id, patch, actor, now),
        )
        .await
    }
    async fn release_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        self.run(
            StoreCall::ReleaseSubscriber,
            self.inner.release_subscriber(id, actor, now),
        )
        .await
    }
    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.run(
            StoreCall::DeleteSubscriber,
            self.inner.delete_subscriber(id, actor, now),
        )
        .await
    }
    async fn unsubscribe(
        &self,
        target: UnsubscribeTarget<'_>,
        method: UnsubscribeMethod,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.run(
            StoreCall::Unsubscribe,
            self.inner.unsubscribe(target, method, actor, now),
        )
        .await
    }
    async fn confirm(
        &self,
        token: TokenHash,
        facts: &RequestFacts,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<ConfirmOutcome> {
        self.run(
            StoreCall::Confirm,
            self.inner.confirm(token, facts, actor, now),
        )
        .await
    }
    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        self.run(
            StoreCall::ListSubscribers,
            self.inner.list_subscribers(filter, ordering, page),
        )
        .await
    }
    async fn list_subscribers_after(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        after: Option<&Subscriber>,
        limit: u32,
    ) -> StoreResult<Vec<Subscriber>> {
        self.run(
            StoreCall::ListSubscribersAfter,
            self.inner
                .list_subscribers_after(filter, ordering, after, limit),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> ThrottleStore for Decorated<H> {
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision> {
        self.run(StoreCall::ThrottleHit, self.inner.hit(hits, now))
            .await
    }
}

#[async_trait]
impl<H: StoreHook> Maintenance for Decorated<H> {
    async fn purge_throttle(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.run(
            StoreCall::PurgeThrottle,
            self.inner.purge_throttle(now, batch),
        )
        .await
    }
    async fn compact_counts(&self) -> StoreResult<()> {
        self.run(StoreCall::CompactCounts, self.inner.compact_counts())
            .await
    }
    async fn purge_idempotency(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.run(
            StoreCall::PurgeIdempotency,
            self.inner.purge_idempotency(now, batch),
        )
        .await
    }
    async fn purge_sessions(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        self.run(
            StoreCall::PurgeSessions,
            self.inner.purge_sessions(now, batch),
        )
        .await
    }
    async fn retain(
        &self,
        step: RetentionStep,
        before: Timestamp,
        batch: u32,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.run(
            StoreCall::Retain,
            self.inner.retain(step, before, batch, now),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> IdempotencyStore for Decorated<H> {
    async fn begin_idempotent(
        &self,
        key: RecordKey,
        fingerprint: Fingerprint,
        now: Timestamp,
        locked_until: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Begun> {
        self.run(
            StoreCall::BeginIdempotent,
            self.inner
                .begin_idempotent(key, fingerprint, now, locked_until, expires_at),
        )
        .await
    }
    async fn finish_idempotent(&self, key: RecordKey, answer: &StoredAnswer) -> StoreResult<()> {
        self.run(
            StoreCall::FinishIdempotent,
            self.inner.finish_idempotent(key, answer),
        )
        .await
    }
    async fn release_idempotent(&self, key: RecordKey) -> StoreResult<()> {
        self.run(
            StoreCall::ReleaseIdempotent,
            self.inner.release_idempotent(key),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> PrivacyStore for Decorated<H> {
    async fn person_data(&self, person: &Person) -> StoreResult<PersonData> {
        self.run(StoreCall::PersonData, self.inner.person_data(person))
            .await
    }
    async fn erase_person(
        &self,
        person: &Person,
        erased: &Event,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Erased> {
        self.run(
            StoreCall::ErasePerson,
            self.inner.erase_person(person, erased, actor, now),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> HistoryStore for Decorated<H> {
    async fn list_history(
        &self,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        self.run(
            StoreCall::ListHistory,
            self.inner.list_history(filter, page),
        )
        .await
    }
}

#[async_trait]
impl<H: StoreHook> HealthCheck for Decorated<H> {
    async fn health(&self) -> StoreResult<()> {
        self.run(StoreCall::Health, self.inner.health()).await
    }
}
