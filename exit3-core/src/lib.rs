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
//! A backend implements the capability traits of [`store`] (`LeadStore`,
//! `SubscriberStore`, `ThrottleStore`, `Maintenance`, `HealthCheck`); the blanket impl
//! makes it a [`Store`], and the `testing` feature's conformance suite checks every
//! guarantee the traits document (`exit3_core::store_conformance!(factory)`).
//!
//! A store that *wraps* another — to count, log, or fail on demand — is a [`StoreHook`]
//! over [`Decorated`], which forwards every call of every capability:
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use exit3_core::{DynStore, Exit3, store::{Decorated, StoreCall, StoreError, StoreHook, StoreResult}};
//!
//! /// Every call answers `Unavailable`: the database is on holiday.
//! #[derive(Debug)]
//! struct Down;
//!
//! #[async_trait]
//! impl StoreHook for Down {
//!     async fn before(&self, call: StoreCall) -> StoreResult<()> {
//!         Err(StoreError::unavailable(format!("{} refused: on holiday", call.as_str())))
//!     }
//! }
//!
//! fn on_holiday(store: DynStore) -> Exit3 {
//!     Exit3::builder(Arc::new(Decorated::new(store, Down))).build()
//! }
//! ```

pub mod access;
pub mod clock;
pub mod domain;
pub mod error;
pub mod events;
pub mod export;
pub mod idempotency;
pub mod input;
pub mod messages;
pub mod observe;
pub mod outbox;
pub mod ports;
pub mod privacy;
pub mod query;
pub mod service;
pub mod spam;
pub mod store;
pub mod text;
pub mod throttle;
pub mod tokens;
pub mod webhooks;
pub mod worker;

#[cfg(feature = "testing")]
pub mod testing;

pub use access::{ApiKeys, Caller, Credential, Operation, Scope, TrustedProxies};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use domain::{
    Actor, Choice, ClientInfo, HistoryAction, HistoryEntry, HistoryFilter, HistoryObject, Lead,
    LeadId, LeadPatch, LeadStatus, NewLead, NewSubscriber, Origin, Policy, StaffId, StaffPatch,
    StaffRole, StaffUser, SubscribeOutcome, Subscriber, SubscriberId, SubscriberPatch,
    SubscriberStatus, Unsubscribe, Username,
};
pub use error::{BoxError, Denial, Error, FieldErrors};
pub use input::Payload;
pub use observe::{NoObserver, Observer, Refusal};
pub use ports::{Mail, MailContent, MailError, Mailer, Ports};
pub use query::{
    HistoryQuery, LeadFilter, LeadQuery, Ordering, Page, PageRequest, QuarantineFilter,
    QueryParams, Search, SortField, SubscriberFilter, SubscriberQuery,
};
pub use service::{
    Exit3, Exit3Builder, RequestContext, SignedIn, StaffInput, Subscribed, SubscriberView,
};
pub use store::{
    Admitted, Decorated, DynStore, HealthCheck, HistoryStore, IdempotencyStore, LeadStore,
    Maintenance, SessionStore, StaffStore, Store, StoreError, StoreHook, StoreResult,
    SubscriberStore, ThrottleStore, WebhookStore,
};
pub use text::{DisposableDomains, EmailAddress};
pub use throttle::{
    Counted, HitMode, Rate, RateSetting, ThrottleDecision, ThrottleHit, ThrottleKey, ThrottleRates,
    ThrottleScope,
};
pub use worker::{DeliveryLimits, DeliveryReport, MaintenanceReport};
