//! A store of one's own: `Counting`, a decorator that wraps any other store and counts
//! the calls that reach it, checked by the conformance suite of the `testing` feature
//! (the suite's functions are plain public async fns in `exit3::testing`).
//!
//! Run with `cargo run --example custom_store --features testing`. It runs every
//! conformance function on a fresh `Counting<MemoryStore>` and prints the call counts;
//! a failed guarantee panics (that is how the suite reports).

use std::{
    collections::BTreeMap,
    error::Error as StdError,
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering as AtomicOrdering},
    },
};

use async_trait::async_trait;
use exit3::{
    DynStore, Lead, LeadFilter, LeadId, LeadPatch, MemoryStore, NewLead, NewSubscriber, Ordering,
    Page, PageRequest, SubscribeOutcome, Subscriber, SubscriberFilter, SubscriberId,
    SubscriberPatch, ThrottleDecision, ThrottleHit, Timestamp,
    store::{HealthCheck, LeadStore, StoreResult, SubscriberStore, ThrottleStore},
    testing,
};

/// Counts the calls of each store method, then forwards them to the wrapped store.
#[derive(Debug)]
struct Counting<S> {
    inner: S,
    calls: Calls,
}

/// Call counts by method name.
#[derive(Default)]
struct Calls(Mutex<BTreeMap<&'static str, AtomicU64>>);

impl Calls {
    fn count(&self, method: &'static str) {
        if let Ok(mut calls) = self.0.lock() {
            calls
                .entry(method)
                .or_default()
                .fetch_add(1, AtomicOrdering::Relaxed);
        }
    }

    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .lock()
            .map(|calls| {
                calls
                    .iter()
                    .map(|(k, v)| (*k, v.load(AtomicOrdering::Relaxed)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

impl<S> Counting<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            calls: Calls::default(),
        }
    }
}

#[async_trait]
impl<S: LeadStore> LeadStore for Counting<S> {
    async fn insert_lead(&self, lead: &NewLead, now: Timestamp) -> StoreResult<Lead> {
        self.calls.count("insert_lead");
        self.inner.insert_lead(lead, now).await
    }
    async fn get_lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        self.calls.count("get_lead");
        self.inner.get_lead(id).await
    }
    async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        self.calls.count("update_lead");
        self.inner.update_lead(id, patch, now).await
    }
    async fn delete_lead(&self, id: LeadId) -> StoreResult<bool> {
        self.calls.count("delete_lead");
        self.inner.delete_lead(id).await
    }
    async fn list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>> {
        self.calls.count("list_leads");
        self.inner.list_leads(filter, ordering, page).await
    }
}

#[async_trait]
impl<S: SubscriberStore> SubscriberStore for Counting<S> {
    async fn subscribe(
        &self,
        subscriber: &NewSubscriber,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)> {
        self.calls.count("subscribe");
        self.inner.subscribe(subscriber, now).await
    }
    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Option<Subscriber>> {
        self.calls.count("get_subscriber");
        self.inner.get_subscriber(id).await
    }
    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        self.calls.count("update_subscriber");
        self.inner.update_subscriber(id, patch, now).await
    }
    async fn delete_subscriber(&self, id: SubscriberId) -> StoreResult<bool> {
        self.calls.count("delete_subscriber");
        self.inner.delete_subscriber(id).await
    }
    async fn unsubscribe(&self, email: &str, now: Timestamp) -> StoreResult<bool> {
        self.calls.count("unsubscribe");
        self.inner.unsubscribe(email, now).await
    }
    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        self.calls.count("list_subscribers");
        self.inner.list_subscribers(filter, ordering, page).await
    }
}

#[async_trait]
impl<S: ThrottleStore> ThrottleStore for Counting<S> {
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision> {
        self.calls.count("hit");
        self.inner.hit(hits, now).await
    }
}

#[async_trait]
impl<S: HealthCheck> HealthCheck for Counting<S> {
    async fn health(&self) -> StoreResult<()> {
        self.calls.count("health");
        self.inner.health().await
    }
}

/// Runs each named conformance function on a fresh store, keeping the stores to report.
macro_rules! conformance {
    ($stores:ident; $($name:ident),* $(,)?) => {
        $(
            let store = Arc::new(Counting::new(MemoryStore::new()));
            $stores.push((stringify!($name), store.clone()));
            testing::$name(store as DynStore).await;
            println!("ok   {}", stringify!($name));
        )*
    };
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    let mut stores: Vec<(&str, Arc<Counting<MemoryStore>>)> = Vec::new();
    conformance!(stores;
        lead_round_trip,
        lead_missing_ids,
        lead_update_changes_only_given_fields,
        lead_delete_removes_the_lead,
        lead_filters,
        lead_search_is_case_insensitive_and_literal,
        lead_orderings_break_ties_by_id,
        lead_pages_partition_the_result,
        subscribe_is_idempotent_and_case_insensitive,
        concurrent_subscribes_give_one_subscriber,
        subscriber_update_and_email_conflict,
        subscriber_missing_ids,
        subscriber_lists,
        unsubscribe_marks_only_active_subscribers,
        throttle_follows_the_model,
        throttle_follows_the_model_when_the_limit_changes,
        throttle_is_exact_under_concurrency,
        throttle_scopes_are_atomic,
        throttle_keys_are_independent,
        health_answers,
    );
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, store) in &stores {
        for (method, n) in store.calls.snapshot() {
            *totals.entry(method).or_default() += n;
        }
    }
    println!(
        "Counting<MemoryStore> passed all {} conformance functions; calls that reached it:",
        stores.len()
    );
    for (method, n) in &totals {
        println!("  {method:<18} {n}");
    }
    if totals.get("insert_lead").copied().unwrap_or(0) == 0 {
        return Err("the decorator saw no inserts: it is not in the path".into());
    }
    Ok(())
}
