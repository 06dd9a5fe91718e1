//! # exit3-core
//!
//! The domain of exit3 — lead capture and newsletter subscriptions — with no HTTP and no
//! SQL: models, input parsing and validation, API-key scopes, exact sliding-window
//! throttling, a [`Clock`], the store traits, and the [`Exit3`] service that every
//! frontend calls. Policy lives here, once; a frontend only translates its wire format
//! to these calls and back, and a store only persists.
//!
//! ```
//! use exit3_core::{ApiKeys, Exit3, Payload, RequestContext};
//! # async fn demo(store: exit3_core::DynStore) -> Result<(), exit3_core::Error> {
//! let exit3 = Exit3::builder(store)
//!     .keys(ApiKeys::new(["an-admin-key-of-at-least-32-characters"], ["a-public-key"]))
//!     .build();
//! let visitor = RequestContext::with_key("a-public-key");
//! let lead = exit3
//!     .create_lead(&visitor, &Payload::empty().with("full_name", "Ada").with("position", "CTO"))
//!     .await?;
//! assert_eq!(lead.to_string(), "Ada (No company)");
//! # Ok(()) }
//! ```
//!
//! ## A store of your own
//!
//! Implement the four capability traits; the blanket impl makes it a [`Store`]. The
//! `testing` feature's conformance suite checks every guarantee the traits document.
//!
//! ```
//! use async_trait::async_trait;
//! use exit3_core::{store::*, *};
//!
//! /// A store that is always down: every call answers `Unavailable`.
//! #[derive(Debug)]
//! struct Down;
//!
//! fn down() -> Error {
//!     Error::unavailable("the database is on holiday")
//! }
//!
//! #[async_trait]
//! impl LeadStore for Down {
//!     async fn insert_lead(&self, _: &NewLead, _: Timestamp) -> StoreResult<Lead> { Err(down()) }
//!     async fn get_lead(&self, _: LeadId) -> StoreResult<Option<Lead>> { Err(down()) }
//!     async fn update_lead(&self, _: LeadId, _: &LeadPatch, _: Timestamp) -> StoreResult<Option<Lead>> { Err(down()) }
//!     async fn delete_lead(&self, _: LeadId) -> StoreResult<bool> { Err(down()) }
//!     async fn list_leads(&self, _: &LeadFilter, _: Ordering, _: PageRequest) -> StoreResult<Page<Lead>> { Err(down()) }
//! }
//! #[async_trait]
//! impl SubscriberStore for Down {
//!     async fn subscribe(&self, _: &NewSubscriber, _: Timestamp) -> StoreResult<(Subscriber, SubscribeOutcome)> { Err(down()) }
//!     async fn get_subscriber(&self, _: SubscriberId) -> StoreResult<Option<Subscriber>> { Err(down()) }
//!     async fn update_subscriber(&self, _: SubscriberId, _: &SubscriberPatch, _: Timestamp) -> StoreResult<Option<Subscriber>> { Err(down()) }
//!     async fn delete_subscriber(&self, _: SubscriberId) -> StoreResult<bool> { Err(down()) }
//!     async fn unsubscribe(&self, _: &str, _: Timestamp) -> StoreResult<bool> { Err(down()) }
//!     async fn list_subscribers(&self, _: &SubscriberFilter, _: Ordering, _: PageRequest) -> StoreResult<Page<Subscriber>> { Err(down()) }
//! }
//! #[async_trait]
//! impl ThrottleStore for Down {
//!     async fn hit(&self, _: &[ThrottleHit], _: Timestamp) -> StoreResult<ThrottleDecision> { Err(down()) }
//! }
//! #[async_trait]
//! impl HealthCheck for Down {
//!     async fn health(&self) -> StoreResult<()> { Err(down()) }
//! }
//!
//! let store: DynStore = std::sync::Arc::new(Down);
//! let exit3 = Exit3::builder(store).build();
//! ```

pub mod auth;
pub mod clock;
pub mod error;
pub mod lead;
pub mod observe;
pub mod payload;
pub mod policy;
pub mod proxy;
pub mod query;
pub mod service;
pub mod store;
pub mod subscriber;
pub mod text;
pub mod throttle;

#[cfg(feature = "testing")]
pub mod testing;

pub use auth::{ApiKeys, Caller, Credential, Operation, Scope};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{BoxError, Denial, Error, FieldErrors};
pub use lead::{ClientInfo, Lead, LeadId, LeadPatch, LeadStatus, NewLead, Origin};
pub use observe::{NoObserver, Observer, Refusal};
pub use payload::Payload;
pub use policy::Policy;
pub use proxy::TrustedProxies;
pub use query::{
    LeadFilter, LeadQuery, Ordering, Page, PageRequest, QueryParams, Search, SortField,
    SubscriberFilter, SubscriberQuery,
};
pub use service::{Exit3, Exit3Builder, RequestContext, Subscribed, SubscriberView};
pub use store::{
    DynStore, HealthCheck, LeadStore, Store, StoreResult, SubscriberStore, ThrottleStore,
};
pub use subscriber::{
    NewSubscriber, SubscribeOutcome, Subscriber, SubscriberId, SubscriberPatch, SubscriberStatus,
    Unsubscribe,
};
pub use text::{DisposableDomains, EmailAddress};
pub use throttle::{
    Counted, HitMode, Rate, RateSetting, ThrottleDecision, ThrottleHit, ThrottleKey, ThrottleRates,
    ThrottleScope,
};
