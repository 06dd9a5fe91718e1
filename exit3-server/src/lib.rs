//! # exit3-server
//!
//! The HTTP API of exit3, a drop-in for the Exit Three Django REST Framework backend:
//! a thin `poem` + `poem-openapi` frontend over the [`Exit3`]
//! service. Every rule that is not about HTTP lives in `exit3-core`; this crate
//! translates.
//!
//! The library is the mountable API — [`endpoint`] and its [`HttpOptions`], no process
//! settings, no store. The `exit3-server` binary (feature `app`, on by default) adds the
//! configuration, the wiring of stores, logging and error reports, the background tasks
//! and the command line ([`app`]). Mount the API in another poem application with
//! `default-features = false`:
//!
//! ```no_run
//! use std::sync::Arc;
//! use exit3_core::{ApiKeys, Exit3, store::Decorated, DynStore};
//! use exit3_server::{HttpOptions, endpoint};
//!
//! # fn demo(store: DynStore) {
//! let exit3 = Exit3::builder(store)
//!     .keys(ApiKeys::new(["an-admin-key-of-at-least-32-characters"], ["a-public-key"]))
//!     .build();
//! let app = poem::Route::new().nest("/crm", endpoint(exit3, HttpOptions::default()));
//! # let _ = app; }
//! ```

pub mod api;
pub mod dto;
pub mod errors;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod options;
pub mod pages;
pub mod routes;
pub mod server;

#[cfg(feature = "app")]
pub mod app;

use exit3_core::Exit3;
use poem::{Endpoint, EndpointExt, Response, Route};

use crate::{
    api::ApiState,
    middleware::{Front, fallback},
};
pub use crate::{metrics::Metrics, openapi::openapi_json, options::HttpOptions};

/// The API as a poem endpoint: mount it anywhere (`Route::new().nest("/crm", endpoint(..))`).
/// Every path it serves starts with `/backend/`. Requests are counted in
/// `options.metrics` (served at `/backend/metrics`); build the service over
/// [`Metrics::watch_store`] and with [`Metrics::observer`] for store errors and refusals
/// to be counted too.
pub fn endpoint(exit3: Exit3, options: HttpOptions) -> impl Endpoint<Output = Response> + use<> {
    layered(exit3, options, Vec::new())
}

/// A site served beside the API, behind the same front (hosts, HTTPS redirect, security
/// headers, request ids, access log, deadline): `(prefix, endpoint)`, e.g. the staff site
/// at `/backend/admin`. Its pages find the client (after the proxy rule) as the request
/// extension [`extract::ClientAddr`].
pub type Site = (&'static str, poem::endpoint::BoxEndpoint<'static, Response>);

/// [`endpoint`] with `sites` nested beside the API.
pub fn endpoint_with(
    exit3: Exit3,
    options: HttpOptions,
    sites: Vec<Site>,
) -> impl Endpoint<Output = Response> + use<> {
    layered(exit3, options, sites)
}

/// [`endpoint_with`], boxed: what the binary wraps further.
pub(crate) fn layered(exit3: Exit3, options: HttpOptions, sites: Vec<Site>) -> middleware::Layered {
    let service = api::service(ApiState {
        exit3: exit3.clone(),
        debug: options.debug,
    });
    let (spec, docs) = openapi::documents(&service);
    let mut routes = pages::mount(
        Route::new().nest("/", service),
        exit3.clone(),
        options.site_name.clone(),
    );
    for (prefix, site) in sites {
        routes = routes.nest(prefix, site);
    }
    if options.api_docs {
        routes = routes
            .at("/backend/api/schema", spec)
            .at("/backend/api/docs", docs);
    }
    let routes = fallback::catch_panics(routes, options.debug);
    Front::new(routes, exit3, options).boxed()
}
