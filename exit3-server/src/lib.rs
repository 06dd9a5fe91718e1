//! # exit3-server
//!
//! The HTTP API of exit3, a drop-in for the Exit Three Django REST Framework backend:
//! a thin `poem` + `poem-openapi` frontend over the [`Exit3`](exit3_core::Exit3) service.
//! Every rule that is not about HTTP lives in `exit3-core`; this crate translates.
//!
//! Mount the whole API in another poem application:
//!
//! ```no_run
//! use std::sync::Arc;
//! use exit3_core::Exit3;
//! use exit3_server::{Settings, endpoint};
//! use exit3_store_memory::MemoryStore;
//!
//! let settings = Settings::for_tests("an-admin-key-of-at-least-32-characters");
//! let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
//!     .keys(settings.api_keys())
//!     .rates(settings.rates)
//!     .build();
//! let app = poem::Route::new().nest("/crm", endpoint(exit3, &settings));
//! # let _ = app;
//! ```

pub mod api;
pub mod app;
pub mod config;
pub mod docs;
pub mod error_reports;
pub mod extract;
pub mod logging;
pub mod metrics;
pub mod server;
pub mod wire;

pub use app::{endpoint, endpoint_with_metrics, openapi_json};
pub use config::Settings;
pub use metrics::Metrics;
