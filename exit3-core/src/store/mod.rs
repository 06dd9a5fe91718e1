//! What a backend must do, split by capability and combined as [`Store`].
//!
//! Every method is dyn-compatible (`async-trait`), so that a service holds an
//! [`Arc<dyn Store>`](DynStore) and any backend, including one of your own, can stand
//! behind it. The `testing` feature's conformance suite checks each guarantee below. A
//! store answers [`StoreError`]s — what happened to the data, never a contract text or
//! an HTTP notion: the service decides what a caller is told. A decorator (metrics, a
//! test's switch) is written once, as a [`StoreHook`] over [`Decorated`].

mod calls;
mod decorate;
mod delivery;
mod error;
mod staff;

use std::{fmt::Debug, sync::Arc};

use async_trait::async_trait;

pub use self::{
    calls::StoreCall,
    decorate::{Decorated, StoreHook},
    delivery::{OutboxStore, WebhookStore},
    error::{Conflict, StoreError, StoreResult},
    staff::{SessionStore, StaffStore},
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

/// What a call that decides a request's throttle hits before its write did.
#[derive(Debug, Clone, PartialEq)]
pub enum Admitted<T> {
    /// Accepted (and recorded in every key that records), then written.
    Written(T),
    /// Refused: nothing recorded, nothing written. Never [`ThrottleDecision::Accepted`].
    Refused(ThrottleDecision),
}

/// [`LeadStore::insert_lead_admitted`] as its two calls, one after the other: the
/// decision, then the insert only when it accepts — for a store with no better way (the
/// memory store; PostgreSQL when no hit records).
pub async fn hit_then_insert<S: LeadStore + ThrottleStore + ?Sized>(
    store: &S,
    hits: &[ThrottleHit],
    lead: &NewLead,
    effects: &LeadEffects,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<Admitted<Lead>> {
    match store.hit(hits, now).await? {
        ThrottleDecision::Accepted => Ok(Admitted::Written(
            store.insert_lead(lead, effects, actor, now).await?,
        )),
        refused => Ok(Admitted::Refused(refused)),
    }
}

/// Persistence of leads. Every write also writes its history entry by `actor`, made by
/// [`NewHistoryEntry`](crate::domain::NewHistoryEntry)'s constructors from the lead before
/// and after, in the same call (admin.md "History").
#[async_trait]
pub trait LeadStore: Send + Sync + Debug + 'static {
    /// Stores `lead` with a new id (unique, positive, larger than every id given before)
    /// and `created_at = updated_at = now`, together with its client info and the
    /// messages of `effects` ([`LeadCreated::messages`](crate::events::LeadCreated::messages):
    /// `lead.created` to every enabled endpoint that listens for it, a notification to
    /// each staff address; nothing when silent) and a `created` history entry,
    /// atomically. Returns the lead exactly as [`LeadStore::get_lead`] would read it back.
    async fn insert_lead(
        &self,
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Lead>;

    /// A create's throttle decision and its lead in one call: [`ThrottleStore::hit`] over
    /// `hits` at `now` and, only when that accepts, [`LeadStore::insert_lead`]. A refused
    /// request records nothing and stores nothing. One call, so that a store may decide
    /// and write together (PostgreSQL decides a batch of concurrent creates and inserts
    /// their leads in one go: a create waits for one batch instead of two); after an
    /// error the request may have been recorded by the throttle, and no lead is
    /// acknowledged.
    async fn insert_lead_admitted(
        &self,
        hits: &[ThrottleHit],
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Admitted<Lead>>;

    /// The lead with `id`, or `None`.
    async fn get_lead(&self, id: LeadId) -> StoreResult<Option<Lead>>;

    /// Applies `patch` as [`LeadPatch::apply`] does (only the given fields change;
    /// `updated_at = now`; `created_at` and client info never change), atomically with
    /// its `lead.updated` event ([`Event::lead_updated`](crate::events::Event::lead_updated),
    /// fanned out by [`fan_out`](crate::webhooks::fan_out)) and its `changed` history
    /// entry (none when no field changed), and returns the changed lead; `None` when
    /// there is no such lead.
    async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>>;

    /// Clears the lead's quarantine and, in the same call, writes what its acceptance
    /// would have: the messages of `effects` for it as it is now
    /// ([`LeadCreated::for_stored`](crate::events::LeadCreated::for_stored)), and a
    /// `released` history entry. A lead that is not quarantined is answered as it is,
    /// and nothing is written. `None` when there is no such lead.
    async fn release_lead(
        &self,
        id: LeadId,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>>;

    /// Deletes the lead (and its client info) with its `lead.deleted` event and a
    /// `deleted` history entry at `now`; `false` when there was none.
    async fn delete_lead(&self, id: LeadId, actor: &Actor, now: Timestamp) -> StoreResult<bool>;

    /// The leads that [`LeadFilter::matches`], in the order of
    /// [`Ordering::compare_leads`], cut to `page`, with the count of all matches. A page
    /// past the end is an empty page with the right count (the service decides what to
    /// answer).
    async fn list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>>;

    /// Up to `limit` of the leads that [`LeadFilter::matches`] that come after `after` in
    /// the order of [`Ordering::compare_leads`] (from the first when `None`), in that
    /// order: an export's next batch, by keyset, so that no batch costs more than the
    /// one before. A row after `after` is one that `compare_leads(row, after)` puts
    /// after it (`after` need not still exist).
    async fn list_leads_after(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        after: Option<&Lead>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>>;

    /// How many accepted (not quarantined) leads were created in each of `days`
    /// consecutive 24-hour spans from `first`: `days` counts, in order (the dashboard's
    /// chart, in one query instead of one a day).
    async fn count_leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>>;
}

/// Persistence of newsletter subscribers, with their consent records and confirmation
/// tokens. The transitions are the core's ([`subscription`](crate::domain::subscription));
/// a store applies them under its lock or in one transaction, together with the history
/// entry by `actor` that
/// [`NewHistoryEntry::subscriber`](crate::domain::NewHistoryEntry::subscriber) makes of
/// the subscriber before and after (a call that changes nothing writes none).
#[async_trait]
pub trait SubscriberStore: Send + Sync + Debug + 'static {
    /// Subscribes `request.subscriber.email()` atomically, even under concurrent calls
    /// for one address: a new address becomes [`SubscribeRequest::create`] (with an id
    /// unique, positive and larger than every id given before), an existing one is changed
    /// by [`SubscribeRequest::apply`] (under a lock, so that concurrent calls see each
    /// other). When the effect asks for a confirmation mail, an
    /// [`OutboxMessage::Confirmation`](crate::outbox::OutboxMessage::Confirmation) is queued in the same transaction: no mail without
    /// its subscriber, no pending subscriber without its mail. Addresses are unique
    /// case-insensitively; there is never more than one row per address. History:
    /// `created`, or `changed`.
    async fn subscribe(
        &self,
        request: &SubscribeRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<(Subscriber, SubscribeOutcome)>;

    /// The subscriber with `id`, or `None`.
    async fn get_subscriber(&self, id: SubscriberId) -> StoreResult<Option<Subscriber>>;

    /// Applies `patch` as [`SubscriberPatch::apply`] does, atomically. An e-mail address
    /// that another subscriber has answers
    /// [`StoreError::Conflict`]`{ what: `[`Conflict::SubscriberEmail`]` }` and changes
    /// nothing. `None` when there is no such subscriber. History: `changed`.
    async fn update_subscriber(
        &self,
        id: SubscriberId,
        patch: &SubscriberPatch,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>>;

    /// Releases a quarantined subscriber as
    /// [`subscription::release`](crate::domain::subscription::release) does, atomically:
    /// its confirmation mail (when the release asks for one) and its
    /// [`Event::subscriber_change`](crate::events::Event::subscriber_change) from "unheard"
    /// are written in the same transaction. A subscriber that is not quarantined is
    /// answered as it is; `None` when there is no such subscriber. History: `released`.
    async fn release_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Subscriber>>;

    /// Deletes the subscriber, with its tokens, and writes a `deleted` history entry;
    /// `false` when there was none.
    async fn delete_subscriber(
        &self,
        id: SubscriberId,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Unsubscribes the subscriber `target` names as
    /// [`subscription::unsubscribe`](crate::domain::subscription::unsubscribe) does, with
    /// `method`; `true` when a subscriber changed. History: `unsubscribed`.
    async fn unsubscribe(
        &self,
        target: UnsubscribeTarget<'_>,
        method: UnsubscribeMethod,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Uses the confirmation token whose hash is `token`, atomically: looks it up with its
    /// subscriber, decides by [`decide_confirm`](crate::domain::subscription::decide_confirm),
    /// and on [`ConfirmDecision::Confirm`](crate::domain::ConfirmDecision::Confirm) confirms the subscriber
    /// ([`subscription::confirm`](crate::domain::subscription::confirm), with `facts`)
    /// and marks the token used. Two uses of one token at once confirm once. History:
    /// `confirmed`.
    async fn confirm(
        &self,
        token: TokenHash,
        facts: &RequestFacts,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<ConfirmOutcome>;

    /// The subscribers that [`SubscriberFilter::matches`], in the order of
    /// [`Ordering::compare_subscribers`], cut to `page`, with the count of all matches.
    async fn list_subscribers(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>>;

    /// Up to `limit` of the subscribers that [`SubscriberFilter::matches`] that come
    /// after `after` in the order of [`Ordering::compare_subscribers`], as
    /// [`LeadStore::list_leads_after`] does for leads.
    async fn list_subscribers_after(
        &self,
        filter: &SubscriberFilter,
        ordering: Ordering,
        after: Option<&Subscriber>,
        limit: u32,
    ) -> StoreResult<Vec<Subscriber>>;
}

/// Whom an unsubscribe names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeTarget<'a> {
    /// By (lower-case) address: `POST newsletter/unsubscribe/`.
    Email(&'a str),
    /// By id: a mail's signed link.
    Id(SubscriberId),
}

/// What a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The subscriber is active now.
    Confirmed(Subscriber),
    /// It was already (a used token of a subscriber who is active: a double click).
    AlreadyConfirmed(Subscriber),
    /// Unknown, expired or used token.
    Invalid,
}

/// Throttle state, shared by every frontend (and every server instance) that uses the
/// store.
#[async_trait]
pub trait ThrottleStore: Send + Sync + Debug + 'static {
    /// Decides and records one request in all of its scopes, atomically (the keys of one
    /// call are distinct; the service never repeats one): the request is
    /// accepted when every hit's key accepts it under the rule of the
    /// [`throttle`](crate::throttle) module, and then recorded in every key; otherwise
    /// nothing is recorded anywhere and the longest wait among the refusing keys is
    /// returned. A [check-only](crate::throttle::HitMode::CheckOnly) hit decides like
    /// the others but is never recorded. Concurrent calls, from any number of tasks or
    /// processes sharing the store, behave as if they ran one at a time in some order. A
    /// decision costs O(1) in the rate's limit; it does no upkeep (see [`Maintenance`]).
    async fn hit(&self, hits: &[ThrottleHit], now: Timestamp) -> StoreResult<ThrottleDecision>;
}

/// Upkeep, run by a background task (the server's maintenance task,
/// [`Exit3::maintain_once`](crate::Exit3::maintain_once)), never on a request's path.
#[async_trait]
pub trait Maintenance: Send + Sync + Debug + 'static {
    /// Removes up to `batch` throttle keys whose newest accepted time has left its window
    /// at `now` — state that can no longer affect a decision — and answers how many it
    /// removed. Run often enough, the state stays bounded by the keys active within
    /// their window. Keys a concurrent decision holds may be skipped.
    async fn purge_throttle(&self, now: Timestamp, batch: u32) -> StoreResult<u64>;

    /// Brings whatever running counts the store keeps to their compact form, so that
    /// counting stays cheap (PostgreSQL folds its per-write lead-count rows). Counts are
    /// exact before and after; a store without any does nothing.
    async fn compact_counts(&self) -> StoreResult<()>;

    /// Removes up to `batch` idempotency records that expired at `now`, and answers how
    /// many it removed.
    async fn purge_idempotency(&self, now: Timestamp, batch: u32) -> StoreResult<u64>;

    /// Removes up to `batch` staff sessions that expired at `now`, and answers how many
    /// it removed.
    async fn purge_sessions(&self, now: Timestamp, batch: u32) -> StoreResult<u64>;

    /// Applies retention `step` (privacy.md §2) to up to `batch` of the oldest records it
    /// takes at the cut-off `before` ([`RetentionStep::takes_lead`],
    /// [`RetentionStep::takes_subscriber`]; for
    /// [`Deliveries`](RetentionStep::Deliveries), finished outbox messages last changed
    /// before it, with their delivery rows) and answers how many it took. Each record
    /// goes with what belongs to it (client info, tokens, consent record) — or, for
    /// [`ClientInfo`](RetentionStep::ClientInfo), loses its address and user agent —
    /// in one short transaction per batch, with its history entry
    /// ([`RetentionStep::entry`]) and, when [`RetentionStep::redacts_history`], its
    /// earlier entries' values [redacted](crate::domain::HistoryEntry::redact); an
    /// accepted lead that goes announces `lead.deleted` as a deletion does. A record a
    /// concurrent write holds may be left for the next batch.
    async fn retain(
        &self,
        step: RetentionStep,
        before: Timestamp,
        batch: u32,
        now: Timestamp,
    ) -> StoreResult<u64>;
}

/// Idempotency records (capture.md §2), one per caller and key, shared by every
/// instance over the store.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + Debug + 'static {
    /// Begins a request with `key`, atomically, as [`Record::begin`](crate::idempotency::Record::begin) decides: a new key
    /// (or one the decision lets it take over) becomes this request's, held until
    /// `locked_until` and kept until `expires_at`. Of two requests that begin one key at
    /// once, exactly one is [`Begun::Started`].
    async fn begin_idempotent(
        &self,
        key: RecordKey,
        fingerprint: Fingerprint,
        now: Timestamp,
        locked_until: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Begun>;

    /// Keeps the answer of the request that started `key`.
    async fn finish_idempotent(&self, key: RecordKey, answer: &StoredAnswer) -> StoreResult<()>;

    /// Forgets `key` if it holds no answer (its request was refused or failed), so that
    /// the client may retry with it.
    async fn release_idempotent(&self, key: RecordKey) -> StoreResult<()>;
}

/// Whether the store can answer.
#[async_trait]
pub trait HealthCheck: Send + Sync + Debug + 'static {
    /// `Ok(())` when the store answers a trivial query; otherwise
    /// [`StoreError::Unavailable`]. Must not write.
    async fn health(&self) -> StoreResult<()>;
}

/// One person's data (privacy.md §1): what an export reads and an erasure removes.
#[async_trait]
pub trait PrivacyStore: Send + Sync + Debug {
    /// Every lead and the subscriber whose address [`Person::is`] the person's, the
    /// mails queued to that subscriber, and the history entries that
    /// [`Person::concerns_entry`] (newest first).
    async fn person_data(&self, person: &Person) -> StoreResult<PersonData>;

    /// Erases the person in one transaction: every lead with the address (and its
    /// client info), the subscriber (its tokens and consent record), every outbox
    /// message to that subscriber or whose text [`Person::is_mentioned_in`] (in any
    /// state), and every idempotency record whose kept answer mentions it; the values of
    /// every history entry that [`Person::concerns_entry`] are
    /// [redacted](crate::domain::HistoryEntry::redact) (entries without values stay as
    /// they are); then fans out `erased`
    /// (`person.erased`) to the endpoints that listen — even when nothing was found, so
    /// that receivers erase their own copies — and writes one `erased` history entry by
    /// `actor` about [`HistoryObject::Person`](crate::domain::HistoryObject::Person).
    async fn erase_person(
        &self,
        person: &Person,
        erased: &Event,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Erased>;
}

/// The change history, written by the other capabilities' writes (admin.md "History").
#[async_trait]
pub trait HistoryStore: Send + Sync + Debug + 'static {
    /// The entries that [`HistoryFilter::matches`], newest first (by id, descending),
    /// cut to `page`, with the count of all matches.
    async fn list_history(
        &self,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEntry>>;
}

/// A complete backend: every capability.
pub trait Store:
    LeadStore
    + SubscriberStore
    + OutboxStore
    + WebhookStore
    + ThrottleStore
    + IdempotencyStore
    + PrivacyStore
    + HistoryStore
    + StaffStore
    + SessionStore
    + Maintenance
    + HealthCheck
{
}

impl<T> Store for T where
    T: LeadStore
        + SubscriberStore
        + OutboxStore
        + WebhookStore
        + ThrottleStore
        + IdempotencyStore
        + PrivacyStore
        + HistoryStore
        + StaffStore
        + SessionStore
        + Maintenance
        + HealthCheck
{
}

/// A shared, type-erased store: what the service holds.
pub type DynStore = Arc<dyn Store>;
