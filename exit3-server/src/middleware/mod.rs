//! Everything of §5 and §7 that is about HTTP alone, one module per job, run around the
//! routes by one `Front` endpoint (outermost first): request ids, the client's address and scheme,
//! canonical paths, the request log and metrics, security headers, the request deadline,
//! hosts, the HTTPS redirect, CORS, the metrics endpoint, `OPTIONS`, the body limit,
//! `Idempotency-Key`, and JSON bodies for every error and panic.
//!
//! The jobs are plain functions called in order by one endpoint rather than a stack of
//! boxed layers: fourteen `Around` layers cost one allocation, one boxed future and one
//! dynamic call each per request, a fifth of the health check's throughput.

pub mod access_log;
pub(crate) mod body_limit;
pub(crate) mod client_addr;
pub(crate) mod cors;
pub(crate) mod deadline;
pub mod fallback;
pub mod hosts;
pub(crate) mod https;
pub mod idempotency;
pub(crate) mod options_method;
pub mod request_id;
pub(crate) mod security_headers;
pub mod slash;

use std::time::Duration;

use exit3_core::{Exit3, TrustedProxies};
use poem::{Endpoint, Request, Response};

use crate::{metrics::Metrics, options::HttpOptions};

pub use self::{
    access_log::{ACCESS_LOG_TARGET, RouteTemplate, method_label},
    fallback::PanicMessage,
    hosts::HostPattern,
    request_id::RequestId,
};

/// A boxed endpoint: what the binary wraps further.
pub type Layered = poem::endpoint::BoxEndpoint<'static, poem::Response>;

/// The routes with every job of this module around them.
pub(crate) struct Front {
    routes: Layered,
    exit3: Exit3,
    metrics: Metrics,
    proxies: TrustedProxies,
    options: HttpOptions,
    security: security_headers::SecurityHeaders,
    cors: cors::Cors,
    timeout: Duration,
    debug: bool,
}

impl Front {
    /// Puts the jobs around `routes` (which already catch their panics).
    pub(crate) fn new(routes: Layered, exit3: Exit3, options: HttpOptions) -> Self {
        Self {
            routes,
            exit3,
            metrics: options.metrics.clone(),
            proxies: options.trusted_proxies.clone(),
            security: security_headers::SecurityHeaders::new(
                options.hsts_seconds,
                options.hsts_preload,
            ),
            cors: cors::Cors::new(options.cors_allowed_origins.clone()),
            timeout: options.request_timeout,
            debug: options.debug,
            options,
        }
    }

    /// Everything inside the deadline: hosts, the HTTPS redirect, CORS, then the routes.
    async fn guarded(&self, req: Request, matched: &slash::Matched, https: bool) -> Response {
        if let Some(refused) = hosts::refuse(&req, &self.options) {
            return refused;
        }
        if self.options.secure_ssl_redirect
            && let Some(redirect) = https::redirect(&req, matched, https)
        {
            return redirect;
        }
        let origin = self.cors.origin(&req);
        let mut resp = match cors::preflight(&req, origin.is_some()) {
            Some(preflight) => preflight,
            None => self.routed(req, matched).await,
        };
        cors::mark(&mut resp, origin);
        resp
    }

    /// The metrics endpoint, `OPTIONS`, the body limit, then the routes' answer or error.
    async fn routed(&self, req: Request, matched: &slash::Matched) -> Response {
        // The rare paths are boxed: their futures are large, and every request's future
        // (boxed and so copied whole by poem) would otherwise carry their size.
        if crate::metrics::serves(&req, &matched.path) {
            return Box::pin(crate::metrics::answer(
                &req,
                &self.exit3,
                &self.metrics,
                self.debug,
            ))
            .await;
        }
        if let Some(resp) = options_method::answer(&req, matched.route) {
            return resp;
        }
        if let Some(refused) = body_limit::refuse(&req) {
            return refused;
        }
        if let Some(operation) = idempotency::operation(&req, matched.route) {
            let routes = |req| self.answer(req, matched.route);
            return Box::pin(idempotency::run(
                req,
                operation,
                &self.exit3,
                self.debug,
                routes,
            ))
            .await;
        }
        self.answer(req, matched.route).await
    }

    /// The routes' answer, or their error as JSON.
    async fn answer(&self, req: Request, route: Option<crate::routes::RouteInfo>) -> Response {
        let method = req.method().clone();
        match self.routes.call(req).await {
            Ok(resp) => resp,
            Err(err) => fallback::render(err, &method, route, self.debug),
        }
    }
}

impl Endpoint for Front {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let request_id = request_id::take(&req);
        let client = client_addr::find(&req, &self.proxies);
        req.extensions_mut().insert(client);
        let matched = slash::canonicalise(&mut req);
        let entry = access_log::Entry::begin(req.method(), &matched, client.ip);
        // Boxed: poem boxes this future (copying it whole at every request), and the
        // routes' future inside it is kilobytes.
        let guarded = Box::pin(self.guarded(req, &matched, client.https));
        let mut resp = deadline::bound(self.timeout, guarded).await;
        let api = matched.path.starts_with("/backend/");
        self.security.apply(&mut resp, api, client.https);
        entry.finish(&self.metrics, &request_id, &mut resp);
        request_id::stamp(&mut resp, request_id);
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use poem::{Endpoint, EndpointExt, Request, Route};

    use super::Front;
    use crate::options::HttpOptions;

    /// poem boxes every request's future, copying it whole: the routes' kilobytes stay
    /// behind boxes of their own (9.6 KB here had cost a tenth of the health check's
    /// throughput, all of it in `memcpy`).
    #[test]
    fn a_requests_future_stays_small() {
        let store = Arc::new(exit3_store_memory::MemoryStore::new());
        let front = Front::new(
            Route::new().boxed(),
            exit3_core::Exit3::builder(store).build(),
            HttpOptions::default(),
        );
        let size = std::mem::size_of_val(&front.call(Request::default()));
        assert!(size <= 2048, "Front::call's future is {size} bytes");
    }
}
