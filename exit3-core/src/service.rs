//! [`Exit3`]: the one entry point every frontend calls. Each operation authenticates,
//! authorises the caller's scope, throttles, parses, stores — in that order, as DRF does —
//! and answers a core result or a core [`Error`].

use std::{net::IpAddr, sync::Arc};

use crate::{
    auth::{ApiKeys, Caller, Credential, Operation, Scope},
    clock::{Clock, SystemClock, Timestamp},
    error::{Denial, Error},
    lead::{Lead, LeadId, LeadPatch, NewLead, Origin},
    payload::Payload,
    policy::Policy,
    query::{LeadQuery, Page, QueryParams, SubscriberQuery},
    store::DynStore,
    subscriber::{
        NewSubscriber, SubscribeOutcome, Subscriber, SubscriberId, SubscriberPatch,
        SubscriberStatus, Unsubscribe,
    },
    throttle::{ThrottleDecision, ThrottleHit, ThrottleRates, ThrottleScope},
};

/// The answer to every unsubscribe request, known address or not (no enumeration).
pub const UNSUBSCRIBED_DETAIL: &str = "If this address was subscribed, it is now unsubscribed.";

/// What a frontend knows about a request: the key it presented and where it came from.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The presented key (see [`Credential::from_headers`]).
    pub credential: Credential,
    /// Client address (after the proxy rule) and headers, for throttling and client info.
    pub origin: Origin,
}

impl RequestContext {
    /// A request with `credential` from `ip`.
    pub fn new(credential: Credential, ip: Option<IpAddr>) -> Self {
        Self {
            credential,
            origin: Origin {
                ip,
                ..Origin::default()
            },
        }
    }

    /// A request presenting `key`, from nowhere in particular (for embedding).
    pub fn with_key(key: impl Into<String>) -> Self {
        Self::new(Credential::Key(key.into()), None)
    }
}

/// What a subscribe call answers: what happened, and what the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// Created (201), re-activated or already active (200).
    pub outcome: SubscribeOutcome,
    /// The subscriber, as much as the caller's scope may read.
    pub view: SubscriberView,
}

/// A subscriber as shown to a caller: admins see it whole, the public key only the
/// address and status (it must not read data back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberView {
    /// For the admin scope.
    Full(Subscriber),
    /// For the public scope.
    Receipt {
        /// The stored (lower-case) address.
        email: String,
        /// Its status.
        status: SubscriberStatus,
    },
}

/// The exit3 service. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Exit3 {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: DynStore,
    keys: ApiKeys,
    policy: Policy,
    rates: ThrottleRates,
    clock: Arc<dyn Clock>,
}

/// Builds an [`Exit3`]; everything but the store has a default (no keys, the contract's
/// policy and rates, the system clock).
#[derive(Debug)]
pub struct Exit3Builder {
    store: DynStore,
    keys: ApiKeys,
    policy: Policy,
    rates: ThrottleRates,
    clock: Arc<dyn Clock>,
}

impl Exit3Builder {
    /// The API keys (without any, every request is refused).
    pub fn keys(mut self, keys: ApiKeys) -> Self {
        self.keys = keys;
        self
    }

    /// The sources and categories.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The throttle rates.
    pub fn rates(mut self, rates: ThrottleRates) -> Self {
        self.rates = rates;
        self
    }

    /// The clock (a `ManualClock` in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The service.
    pub fn build(self) -> Exit3 {
        Exit3 {
            inner: Arc::new(Inner {
                store: self.store,
                keys: self.keys,
                policy: self.policy,
                rates: self.rates,
                clock: self.clock,
            }),
        }
    }
}

impl Exit3 {
    /// Starts building a service over `store`.
    pub fn builder(store: DynStore) -> Exit3Builder {
        Exit3Builder {
            store,
            keys: ApiKeys::default(),
            policy: Policy::default(),
            rates: ThrottleRates::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The store behind the service.
    pub fn store(&self) -> &DynStore {
        &self.inner.store
    }

    /// The sources and categories in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The throttle rates in force.
    pub fn rates(&self) -> &ThrottleRates {
        &self.inner.rates
    }

    /// The service's current time.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Authenticates and authorises `ctx` for `operation` and counts it against every
    /// throttle scope that applies. Each step's refusal comes before the next step runs.
    pub async fn admit(&self, ctx: &RequestContext, operation: Operation) -> Result<Caller, Error> {
        let caller = self.inner.keys.authenticate(&ctx.credential)?;
        if !caller.scope().allows(operation) {
            return Err(Error::Forbidden(Denial::PermissionDenied));
        }
        let hits = self.throttle_hits(&caller, ctx, operation);
        if !hits.is_empty() {
            let decision = self.inner.store.hit(&hits, self.now()).await?;
            if let ThrottleDecision::Refused { retry_after, hit } = decision {
                let scope = hits.get(hit).map_or(ThrottleScope::General, |h| h.scope);
                return Err(Error::Throttled { retry_after, scope });
            }
        }
        Ok(caller)
    }

    /// The throttle keys of one request: admin requests by key, others by address.
    fn throttle_hits(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        op: Operation,
    ) -> Vec<ThrottleHit> {
        let who = match caller.scope() {
            Scope::Admin => format!("key:{}", caller.key_fingerprint()),
            Scope::Public => match ctx.origin.ip {
                Some(ip) => format!("ip:{ip}"),
                None => "ip:unknown".to_owned(),
            },
        };
        let base = match caller.scope() {
            Scope::Admin => ThrottleScope::Admin,
            Scope::Public => ThrottleScope::General,
        };
        let extra = match op {
            Operation::CreateLead => Some(ThrottleScope::LeadCreate),
            Operation::Subscribe | Operation::Unsubscribe => Some(ThrottleScope::Subscribe),
            _ => None,
        };
        [Some(base), extra]
            .into_iter()
            .flatten()
            .filter_map(|scope| {
                self.inner.rates.get(scope).map(|rate| ThrottleHit {
                    key: format!("{}:{who}", scope.as_str()),
                    rate,
                    scope,
                })
            })
            .collect()
    }

    /// `GET leads/`: a page of leads.
    pub async fn list_leads(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<Lead>, Error> {
        self.admit(ctx, Operation::ListLeads).await?;
        let query = LeadQuery::from_params(params, self.policy())?;
        let page = self
            .inner
            .store
            .list_leads(&query.filter, query.ordering, query.page)
            .await?;
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// `POST leads/`: creates a lead from the contact form.
    pub async fn create_lead(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        let caller = self.admit(ctx, Operation::CreateLead).await?;
        let lead = NewLead::parse(payload, self.policy(), caller.scope(), &ctx.origin)?;
        self.inner.store.insert_lead(&lead, self.now()).await
    }

    /// `GET leads/{id}/`.
    pub async fn get_lead(&self, ctx: &RequestContext, id: i64) -> Result<Lead, Error> {
        self.admit(ctx, Operation::GetLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        self.inner.store.get_lead(id).await?.ok_or(Error::NotFound)
    }

    /// `PATCH leads/{id}/`: changes the given fields.
    pub async fn patch_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        self.update_lead(ctx, id, payload, true).await
    }

    /// `PUT leads/{id}/`: full update; `full_name` and `position` required.
    pub async fn put_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        self.update_lead(ctx, id, payload, false).await
    }

    async fn update_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
        partial: bool,
    ) -> Result<Lead, Error> {
        self.admit(ctx, Operation::UpdateLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        // DRF looks the object up before it validates the body: an unknown id is a 404
        // whatever the body holds.
        if self.inner.store.get_lead(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = if partial {
            LeadPatch::partial(payload, self.policy())?
        } else {
            LeadPatch::full(payload, self.policy())?
        };
        self.inner
            .store
            .update_lead(id, &patch, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `DELETE leads/{id}/`.
    pub async fn delete_lead(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        self.admit(ctx, Operation::DeleteLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.delete_lead(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `GET newsletter/`: a page of subscribers.
    pub async fn list_subscribers(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<Subscriber>, Error> {
        self.admit(ctx, Operation::ListSubscribers).await?;
        let query = SubscriberQuery::from_params(params, self.policy())?;
        let page = self
            .inner
            .store
            .list_subscribers(&query.filter, query.ordering, query.page)
            .await?;
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// `POST newsletter/`: subscribes, idempotently and case-insensitively.
    pub async fn subscribe(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Subscribed, Error> {
        let caller = self.admit(ctx, Operation::Subscribe).await?;
        let new = NewSubscriber::parse(payload, self.policy())?;
        let (subscriber, outcome) = self.inner.store.subscribe(&new, self.now()).await?;
        let view = match caller.scope() {
            Scope::Admin => SubscriberView::Full(subscriber),
            Scope::Public => SubscriberView::Receipt {
                email: subscriber.email,
                status: subscriber.status,
            },
        };
        Ok(Subscribed { outcome, view })
    }

    /// `GET newsletter/{id}/`.
    pub async fn get_subscriber(&self, ctx: &RequestContext, id: i64) -> Result<Subscriber, Error> {
        self.admit(ctx, Operation::GetSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        self.inner
            .store
            .get_subscriber(id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// `PATCH newsletter/{id}/`.
    pub async fn patch_subscriber(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Subscriber, Error> {
        self.admit(ctx, Operation::UpdateSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.get_subscriber(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = SubscriberPatch::parse(payload, self.policy())?;
        self.inner
            .store
            .update_subscriber(id, &patch, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `DELETE newsletter/{id}/`.
    pub async fn delete_subscriber(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        self.admit(ctx, Operation::DeleteSubscriber).await?;
        let id = SubscriberId::new(id).ok_or(Error::NotFound)?;
        if self.inner.store.delete_subscriber(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// `POST newsletter/unsubscribe/`: answers the same whether or not the address was
    /// known ([`UNSUBSCRIBED_DETAIL`]).
    pub async fn unsubscribe(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<&'static str, Error> {
        self.admit(ctx, Operation::Unsubscribe).await?;
        let request = Unsubscribe::parse(payload)?;
        self.inner
            .store
            .unsubscribe(request.email(), self.now())
            .await?;
        Ok(UNSUBSCRIBED_DETAIL)
    }

    /// Readiness: whether the store answers. Never authenticated nor throttled.
    pub async fn health(&self) -> Result<(), Error> {
        self.inner.store.health().await
    }
}
