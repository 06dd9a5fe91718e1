//! [`Exit3`]: the one entry point every frontend calls. Each operation authenticates,
//! authorises the caller's scope, throttles, parses, stores — in that order, as DRF does —
//! and answers a core result or a core [`Error`]. (A create parses its form before the
//! throttle decides, since parsing is pure, so that the decision and the lead can go to
//! the store in one call; what it answers is the answer of that order.) The operations
//! live one file per area (`leads`, `newsletter`, `privacy`, …); this file holds the
//! service, its builder and `admit`.

mod export;
mod idempotency;
mod leads;
mod newsletter;
mod privacy;
mod spam;
mod staff;
mod webhooks;

pub use self::{
    idempotency::{IdempotencyTicket, Idempotent, IdempotentRequest},
    newsletter::{CONFIRM_PATH, Confirmed, NewsletterSettings, UNSUBSCRIBE_PATH},
    staff::{DEFAULT_SESSION_AGE, SignedIn, StaffInput},
};

use std::{net::IpAddr, sync::Arc};

use crate::{
    access::{ApiKeys, Caller, Credential, Operation, Scope},
    clock::{Clock, SystemClock, Timestamp},
    domain::{Origin, Policy, SubscribeOutcome, Subscriber, SubscriberStatus},
    error::{Denial, Error},
    observe::{NoObserver, Observer, Refusal},
    store::DynStore,
    throttle::{
        Counted, DEFAULT_IPV6_PREFIX, ThrottleDecision, ThrottleHit, ThrottleKey, ThrottleRates,
        ThrottleScope,
    },
    tokens::Secrets,
};

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
    Full(Box<Subscriber>),
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
    ipv6_prefix: u8,
    newsletter: NewsletterSettings,
    secrets: Secrets,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn Observer>,
    webhook_allow_private: bool,
    notify: Vec<String>,
    idempotency_ttl: std::time::Duration,
    spam: crate::spam::SpamPolicy,
    session_age: std::time::Duration,
    retention: crate::privacy::RetentionPolicy,
}

/// Builds an [`Exit3`]; everything but the store has a default (no keys, the contract's
/// policy and rates, IPv6 clients keyed by /64, the newsletter's defaults, a random
/// signing key, the system clock, no observer).
#[derive(Debug)]
pub struct Exit3Builder {
    store: DynStore,
    keys: ApiKeys,
    policy: Policy,
    rates: ThrottleRates,
    ipv6_prefix: u8,
    newsletter: NewsletterSettings,
    secrets: Secrets,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn Observer>,
    webhook_allow_private: bool,
    notify: Vec<String>,
    idempotency_ttl: std::time::Duration,
    spam: crate::spam::SpamPolicy,
    session_age: std::time::Duration,
    retention: crate::privacy::RetentionPolicy,
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

    /// How many leading bits of an IPv6 client address make one client for throttling
    /// (`THROTTLE_IPV6_PREFIX`; 32–128, clamped; default 64).
    pub fn ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.clamp(32, 128);
        self
    }

    /// The newsletter's settings (double opt-in, links, consent wording).
    pub fn newsletter(mut self, newsletter: NewsletterSettings) -> Self {
        self.newsletter = newsletter;
        self
    }

    /// The keys that sign links (`SECRET_KEY`, `SECRET_KEY_FALLBACKS`). Without them a
    /// random key is made: links then work only as long as the process runs.
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// The clock (a `ManualClock` in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Who hears about refused requests (the server's metrics).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// `WEBHOOK_ALLOW_PRIVATE` (development only): webhook URLs may be `http://` and
    /// name private addresses (default false).
    pub fn webhook_allow_private(mut self, allow: bool) -> Self {
        self.webhook_allow_private = allow;
        self
    }

    /// `LEAD_NOTIFY_EMAILS`: staff who get a mail about every accepted lead (none by
    /// default). The addresses are the operator's, taken as given.
    pub fn notify(mut self, addresses: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.notify = addresses.into_iter().map(Into::into).collect();
        self
    }

    /// `IDEMPOTENCY_TTL`: how long an `Idempotency-Key`'s answer is replayed (default
    /// 24 h).
    pub fn idempotency_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// The spam rules for the public key (`SPAM_*`, `FORM_TOKEN*`; capture.md §1).
    pub fn spam(mut self, policy: crate::spam::SpamPolicy) -> Self {
        self.spam = policy;
        self
    }

    /// `SESSION_COOKIE_AGE`: a staff session ends after this long without a request
    /// (default 12 h).
    pub fn session_age(mut self, age: std::time::Duration) -> Self {
        self.session_age = age;
        self
    }

    /// How long data is kept (`RETENTION_*`, privacy.md §2; default: the contract's).
    pub fn retention(mut self, policy: crate::privacy::RetentionPolicy) -> Self {
        self.retention = policy;
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
                ipv6_prefix: self.ipv6_prefix,
                newsletter: self.newsletter,
                secrets: self.secrets,
                clock: self.clock,
                observer: self.observer,
                webhook_allow_private: self.webhook_allow_private,
                notify: self.notify,
                idempotency_ttl: self.idempotency_ttl,
                spam: self.spam,
                session_age: self.session_age,
                retention: self.retention,
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
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
            newsletter: NewsletterSettings::default(),
            secrets: Secrets::random(),
            clock: Arc::new(SystemClock),
            observer: Arc::new(NoObserver),
            webhook_allow_private: false,
            notify: Vec::new(),
            idempotency_ttl: crate::idempotency::DEFAULT_TTL,
            spam: crate::spam::SpamPolicy::default(),
            session_age: DEFAULT_SESSION_AGE,
            retention: crate::privacy::RetentionPolicy::default(),
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

    /// Whether webhook URLs may be private (`WEBHOOK_ALLOW_PRIVATE`); the sender must
    /// be told the same.
    pub fn webhook_allow_private(&self) -> bool {
        self.inner.webhook_allow_private
    }

    /// The newsletter's settings in force.
    pub fn newsletter(&self) -> &NewsletterSettings {
        &self.inner.newsletter
    }

    /// The keys that sign links.
    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// The observer refusals and deliveries are told to.
    pub fn observer(&self) -> &Arc<dyn Observer> {
        &self.inner.observer
    }

    /// How long data is kept.
    pub fn retention(&self) -> &crate::privacy::RetentionPolicy {
        &self.inner.retention
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
    /// throttle scope that applies. Each step's refusal comes before the next step runs,
    /// and every refusal is told to the observer.
    ///
    /// A key that is not valid (unknown, or a malformed header; not a missing one) is
    /// counted in the `failed_auth` scope of the client's address; once that is full the
    /// answer is 429, and so is every request from that address — valid key or not —
    /// until the window frees, so that keys cannot be guessed at the speed of the network.
    pub async fn admit(&self, ctx: &RequestContext, operation: Operation) -> Result<Caller, Error> {
        self.observed(self.admit_unobserved(ctx, operation).await)
    }

    async fn admit_unobserved(
        &self,
        ctx: &RequestContext,
        operation: Operation,
    ) -> Result<Caller, Error> {
        let (caller, hits) = self.admission_unobserved(ctx, operation).await?;
        if !hits.is_empty() {
            self.decide(&hits).await?;
        }
        Ok(caller)
    }

    /// The caller of `operation` and the throttle hits its request must pass, not yet
    /// decided: [`admit`](Self::admit) without its decision, for an operation whose
    /// store call decides them together with its write. A refusal of the credential
    /// is observed here, as `admit` observes it.
    pub(super) async fn admission(
        &self,
        ctx: &RequestContext,
        operation: Operation,
    ) -> Result<(Caller, Vec<ThrottleHit>), Error> {
        self.observed(self.admission_unobserved(ctx, operation).await)
    }

    /// `answer`, the observer told of it when it is a refusal (denied or throttled).
    pub(super) fn observed<T>(&self, answer: Result<T, Error>) -> Result<T, Error> {
        match &answer {
            Err(Error::Forbidden(denial)) => self.inner.observer.refused(Refusal::Denied(*denial)),
            Err(Error::Throttled { scope, .. }) => {
                self.inner.observer.refused(Refusal::Throttled(*scope));
            }
            _ => {}
        }
        answer
    }

    async fn admission_unobserved(
        &self,
        ctx: &RequestContext,
        operation: Operation,
    ) -> Result<(Caller, Vec<ThrottleHit>), Error> {
        let client = Counted::client(ctx.origin.ip, self.inner.ipv6_prefix);
        let failed_auth = self
            .inner
            .rates
            .get(ThrottleScope::FailedAuth)
            .map(|rate| (ThrottleKey::new(ThrottleScope::FailedAuth, &client), rate));
        let authenticated = match &ctx.credential {
            Credential::Session(token) => self.session_caller(token).await,
            credential => self.inner.keys.authenticate(credential),
        };
        let caller = match authenticated {
            Ok(caller) => caller,
            Err(Error::Forbidden(Denial::InvalidKey)) => {
                if let Some((key, rate)) = failed_auth {
                    self.decide(&[ThrottleHit::new(key, rate)]).await?;
                }
                return Err(Error::Forbidden(Denial::InvalidKey));
            }
            Err(e) => return Err(e),
        };
        if !caller.allows(operation) {
            return Err(Error::Forbidden(Denial::PermissionDenied));
        }
        let mut hits: Vec<ThrottleHit> = failed_auth
            .map(|(key, rate)| ThrottleHit::check_only(key, rate))
            .into_iter()
            .collect();
        if operation.is_throttled() {
            hits.extend(self.throttle_hits(&caller, &client, operation));
        }
        Ok((caller, hits))
    }

    /// One throttle decision over `hits`: `Ok` when accepted (and recorded), the
    /// refusing scope's [`Error::Throttled`] otherwise.
    pub(super) async fn decide(&self, hits: &[ThrottleHit]) -> Result<(), Error> {
        Self::throttled(hits, self.inner.store.hit(hits, self.now()).await?)
    }

    /// `decision` over `hits` as the caller is told it.
    pub(super) fn throttled(hits: &[ThrottleHit], decision: ThrottleDecision) -> Result<(), Error> {
        match decision {
            ThrottleDecision::Accepted => Ok(()),
            ThrottleDecision::Refused { retry_after, hit } => Err(Error::Throttled {
                retry_after,
                scope: hits
                    .get(hit)
                    .map_or(ThrottleScope::General, ThrottleHit::scope),
            }),
        }
    }

    /// The recorded throttle hits of one request: admin requests by key, others by
    /// client.
    fn throttle_hits(&self, caller: &Caller, client: &Counted, op: Operation) -> Vec<ThrottleHit> {
        let (base, who) = match caller.scope() {
            Scope::Admin => (ThrottleScope::Admin, Counted::Key(caller.key_fingerprint())),
            Scope::Public => (ThrottleScope::General, client.clone()),
        };
        [Some(base), op.extra_scope()]
            .into_iter()
            .flatten()
            .filter_map(|scope| {
                self.inner
                    .rates
                    .get(scope)
                    .map(|rate| ThrottleHit::new(ThrottleKey::new(scope, &who), rate))
            })
            .collect()
    }

    /// Readiness: whether the store answers. Never authenticated nor throttled.
    pub async fn health(&self) -> Result<(), Error> {
        Ok(self.inner.store.health().await?)
    }
}
