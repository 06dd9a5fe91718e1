//! # exit3-store-memory
//!
//! [`MemoryStore`]: every exit3 store capability in process memory — for tests, demos
//! and embedding where persistence is not needed. Data is lost when the process ends.
//!
//! It follows the core's reference rules to the letter
//! ([`LeadFilter::matches`](exit3_core::LeadFilter::matches),
//! [`Ordering::compare_leads`](exit3_core::Ordering::compare_leads), [`Window`]), and
//! passes the whole conformance suite.
//!
//! ```
//! use std::sync::Arc;
//! use exit3_core::{ApiKeys, Exit3};
//! use exit3_store_memory::MemoryStore;
//!
//! let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
//!     .keys(ApiKeys::new(["admin-key"], ["public-key"]))
//!     .build();
//! # let _ = exit3;
//! ```

use std::{
    cmp,
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

mod history;
mod idempotency;
mod lead;
mod maintenance;
mod outbox;
mod privacy;
mod retention;
mod staff;
mod subscriber;
mod webhook;

use async_trait::async_trait;
use exit3_core::{
    HistoryEntry, Lead, LeadStatus, Page, PageRequest, Subscriber, ThrottleDecision, ThrottleHit,
    Timestamp,
    clock::to_micros,
    domain::TokenRecord,
    outbox::{DeliveryStatus, OutboxMessage},
    store::{StoreError, StoreResult, ThrottleStore},
    throttle::{Rate, Window},
};

/// An in-memory store. One lock guards the data and another the throttle state, so
/// throttle decisions never wait on list queries.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Reads (gets and lists) run in parallel; writes one at a time.
    data: RwLock<Data>,
    throttle: Mutex<Throttle>,
    idempotency: Mutex<idempotency::Records>,
    staff: Mutex<staff::Staff>,
}

#[derive(Debug, Default)]
struct Data {
    leads: BTreeMap<i64, Lead>,
    /// The accepted (not quarantined) leads in creation order, all and per status: the
    /// admin's usual lists (by status or unfiltered, by creation time) read their page
    /// and count from these without visiting every lead.
    by_created: BTreeSet<(Timestamp, i64)>,
    by_status_created: HashMap<LeadStatus, BTreeSet<(Timestamp, i64)>>,
    last_lead_id: i64,
    subscribers: BTreeMap<i64, Subscriber>,
    /// Lower-case address → id: the unique index.
    emails: HashMap<String, i64>,
    last_subscriber_id: i64,
    /// Confirmation tokens by hash.
    tokens: HashMap<[u8; 32], TokenRecord>,
    /// The outbox, by id.
    outbox: BTreeMap<i64, Queued>,
    /// The pending outbox rows by `(next_attempt_at, id)`: what the worker claims and the
    /// stats count, read without visiting the rows already sent (which stay until
    /// retention removes them, and made every claim a scan of all of them under the
    /// write lock).
    pending: BTreeSet<(Timestamp, i64)>,
    last_outbox_id: i64,
    /// Webhook endpoints, by id.
    webhooks: BTreeMap<i64, exit3_core::webhooks::WebhookEndpoint>,
    last_webhook_id: i64,
    /// The change history, oldest first.
    history: Vec<HistoryEntry>,
    last_history_id: i64,
}

/// An outbox message with its delivery state.
#[derive(Debug, Clone)]
struct Queued {
    message: OutboxMessage,
    status: DeliveryStatus,
    attempts: u32,
    next_attempt_at: Timestamp,
    lease_until: Option<Timestamp>,
    last_error: Option<String>,
    last_status_code: Option<u16>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// The first `limit` of `rows` that `keep` keeps, in the order of `compare`: an
/// export's batch, with a partial sort (O(n) to find them, then a sort of those alone).
fn first_of<T: Clone>(
    rows: impl Iterator<Item = T>,
    keep: impl Fn(&T) -> bool,
    compare: impl Fn(&T, &T) -> cmp::Ordering,
    limit: u32,
) -> Vec<T> {
    let mut hits: Vec<T> = rows.filter(|r| keep(r)).collect();
    let limit = limit as usize;
    if limit < hits.len() {
        hits.select_nth_unstable_by(limit, &compare);
        hits.truncate(limit);
    }
    hits.sort_by(&compare);
    hits
}

impl Data {
    /// Adds an accepted lead to the creation-order sets the usual lists read.
    fn index(&mut self, lead: &Lead) {
        let entry = (lead.created_at, lead.id.get());
        self.by_created.insert(entry);
        self.by_status_created
            .entry(lead.status)
            .or_default()
            .insert(entry);
    }

    /// Takes a removed lead out of the creation-order sets.
    fn unindex(&mut self, lead: &Lead) {
        let entry = (lead.created_at, lead.id.get());
        self.by_created.remove(&entry);
        if let Some(set) = self.by_status_created.get_mut(&lead.status) {
            set.remove(&entry);
        }
    }

    /// Queues `message`, in the same write as the change that causes it.
    fn enqueue(&mut self, message: OutboxMessage, now: Timestamp) {
        self.last_outbox_id += 1;
        self.pending.insert((now, self.last_outbox_id));
        self.outbox.insert(
            self.last_outbox_id,
            Queued {
                message,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                lease_until: None,
                last_error: None,
                last_status_code: None,
                created_at: now,
                updated_at: now,
            },
        );
    }

    fn subscriber_by_email(&mut self, email: &str) -> StoreResult<Option<&mut Subscriber>> {
        let Some(&id) = self.emails.get(email) else {
            return Ok(None);
        };
        self.subscribers
            .get_mut(&id)
            .map(Some)
            .ok_or_else(|| StoreError::other("e-mail index points to no subscriber"))
    }
}

#[derive(Debug, Default)]
struct Throttle {
    windows: HashMap<String, (Rate, Window)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data stays consistent even if a panic elsewhere poisoned the lock: every
    // mutation below completes before it could panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads `data`, whatever a panicking writer left.
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `data`, whatever a panicking writer left.
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many throttle keys are kept (for tests of the memory bound).
    pub fn throttle_keys(&self) -> usize {
        lock(&self.throttle).windows.len()
    }
}

/// The reference pagination, done with a partial sort: O(n) to find the page, then a
/// sort of the page alone.
fn page_of<T: Clone>(
    rows: impl Iterator<Item = T>,
    matches: impl Fn(&T) -> bool,
    compare: impl Fn(&T, &T) -> cmp::Ordering,
    page: PageRequest,
) -> Page<T> {
    let mut hits: Vec<T> = rows.filter(|r| matches(r)).collect();
    let count = hits.len() as u64;
    let start = usize::try_from(page.offset())
        .unwrap_or(usize::MAX)
        .min(hits.len());
    let end = start
        .saturating_add(page.page_size() as usize)
        .min(hits.len());
    if end < hits.len() {
        hits.select_nth_unstable_by(end, &compare);
        hits.truncate(end);
    }
    if start > 0 && start < hits.len() {
        hits.select_nth_unstable_by(start, &compare);
    }
    let mut items = hits.split_off(start);
    items.sort_by(&compare);
    Page {
        items,
        count,
        request: page,
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision> {
        let now = to_micros(now);
        let mut throttle = lock(&self.throttle);
        let mut refusal: Option<(std::time::Duration, usize)> = None;
        for (i, hit) in hits.iter().enumerate() {
            if let Some((_, window)) = throttle.windows.get(hit.key.as_str())
                && let Err(wait) = window.check_micros(hit.rate, now)
                && refusal.is_none_or(|(longest, _)| wait > longest)
            {
                refusal = Some((wait, i));
            }
        }
        if let Some((retry_after, hit)) = refusal {
            return Ok(ThrottleDecision::Refused { retry_after, hit });
        }
        for hit in hits.iter().filter(|h| h.records()) {
            let (rate, window) = throttle
                .windows
                .entry(hit.key.as_str().to_owned())
                .or_insert_with(|| (hit.rate, Window::new()));
            *rate = hit.rate;
            window.record_micros(hit.rate, now);
        }
        Ok(ThrottleDecision::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use exit3_core::{DynStore, ManualClock, clock::Clock, store::Maintenance, testing::at};

    use super::*;

    async fn fresh() -> Option<DynStore> {
        Some(Arc::new(MemoryStore::new()))
    }

    exit3_core::store_conformance!(fresh);

    #[tokio::test]
    async fn throttle_memory_stays_bounded_by_the_active_keys_under_maintenance() {
        let store = MemoryStore::new();
        let clock = ManualClock::new(at(0));
        let rate = Rate::new(10, Duration::from_secs(3600)).expect("rate");
        // A million distinct clients over a simulated day: one every 86.4 ms.
        let (clients, day) = (1_000_000u32, Duration::from_secs(86_400));
        let step = day / clients;
        let active_per_window = (3600.0 / step.as_secs_f64()).ceil() as usize;
        let per_minute = (60.0 / step.as_secs_f64()).ceil() as u32;
        let mut peak = 0;
        for i in 0..clients {
            let hit = ThrottleHit::new(
                exit3_core::ThrottleKey::custom(
                    exit3_core::ThrottleScope::General,
                    format!("general:ip:{i}"),
                ),
                rate,
            );
            let d = store.hit(&[hit], clock.now()).await.expect("hit");
            assert_eq!(d, ThrottleDecision::Accepted);
            clock.advance(step);
            peak = peak.max(store.throttle_keys());
            // The server's maintenance task, every simulated minute.
            if i % per_minute == 0 {
                while store
                    .purge_throttle(clock.now(), 1000)
                    .await
                    .expect("purge")
                    == 1000
                {}
            }
        }
        assert!(
            peak <= active_per_window + 2 * per_minute as usize,
            "peak {peak} keys, {active_per_window} active in one window"
        );
    }

    #[test]
    fn partial_sort_pages_equal_full_sort_pages() {
        let rows: Vec<u32> = (0..200).map(|i| (i * 7919) % 211).collect();
        for (page, size) in [(1, 10), (3, 7), (20, 10), (21, 10), (1, 100), (2, 100)] {
            let req = PageRequest::new(page, size).expect("page");
            let fast = page_of(rows.iter().copied(), |r| r % 3 != 0, |a, b| a.cmp(b), req);
            let slow = exit3_core::query::paginate(
                rows.iter().copied(),
                |r| r % 3 != 0,
                |a, b| a.cmp(b),
                req,
            );
            assert_eq!(fast, slow, "page {page} size {size}");
        }
    }
}
