//! # exit3
//!
//! Lead capture and newsletter subscriptions, as a library to embed in Rust services and
//! as the server the Exit Three website calls. This facade re-exports the core
//! ([`exit3_core`]: models, validation, scopes, throttling, store traits and the
//! [`Exit3`] service) and, behind features, each store.
//!
//! | feature | what it adds |
//! |---|---|
//! | `memory` (default) | `MemoryStore` (crate `exit3-store-memory`) |
//! | `postgres` | `PostgresStore`, `PostgresOptions` (crate `exit3-store-postgres`) |
//! | `server` | the HTTP API as the module `server` (crate `exit3-server`): `server::endpoint` mounts it in a poem application |
//! | `delivery` | mail delivery as the module `delivery` (crate `exit3-delivery`): `SmtpMailer`, `ConsoleMailer`, `run_worker`, without poem |
//! | `admin` | the staff site as the module `admin` (crate `exit3-admin`): `admin::endpoint` mounts it in a poem application |
//! | `testing` | the store conformance suite (`testing`, `store_conformance!`) |
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # async fn demo() -> Result<(), exit3::Error> {
//! use std::sync::Arc;
//! use exit3::{ApiKeys, Exit3, MemoryStore, Payload, QueryParams, RequestContext};
//!
//! let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
//!     .keys(ApiKeys::new(["admin-key"], ["public-key"]))
//!     .build();
//! let form = Payload::empty().with("full_name", "Ada").with("position", "CTO");
//! exit3.create_lead(&RequestContext::with_key("public-key"), &form).await?;
//! let page = exit3
//!     .list_leads(&RequestContext::with_key("admin-key"), &QueryParams::default())
//!     .await?;
//! assert_eq!(page.count, 1);
//! # Ok(()) }
//! ```

#[doc(inline)]
pub use exit3_core::*;

#[cfg(feature = "memory")]
#[doc(inline)]
pub use exit3_store_memory::MemoryStore;

#[cfg(feature = "postgres")]
#[doc(inline)]
pub use exit3_store_postgres::{PostgresOptions, PostgresStore};

/// Mail delivery: the mailers and the delivery worker (crate `exit3-delivery`).
#[cfg(feature = "delivery")]
pub use exit3_delivery as delivery;

/// The HTTP API (crate `exit3-server`).
#[cfg(feature = "server")]
pub use exit3_server as server;

/// The staff site (crate `exit3-admin`).
#[cfg(feature = "admin")]
pub use exit3_admin as admin;
