//! Prometheus metrics, served at `/backend/metrics` to the admin key only (OpenMetrics
//! text, which Prometheus scrapes natively): requests and their latency by method, route
//! template and status, throttle and authentication refusals, store errors by operation,
//! the PostgreSQL pool, the outbox (pending messages and the oldest one's age, read at
//! each scrape) and the delivery attempts of this process's worker. Every label takes known values only (see
//! [`method_label`](crate::middleware::method_label)): no request can grow a scrape.

use std::{
    fmt::Write as _,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use exit3_core::{
    DynStore, Exit3, Observer, Operation, Refusal, RequestContext, ThrottleScope, Timestamp,
    messages,
    outbox::{OutboxKind, OutboxStats},
    store::{Decorated, StoreCall, StoreError, StoreHook},
};
use poem::{
    IntoResponse, Request, Response,
    http::{Method, StatusCode},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{
    errors::{ReadError, detail_response},
    extract::ClientAddr,
    routes::READ_ONLY,
};

/// The path of the metrics endpoint (slash-normalised).
pub const METRICS_PATH: &str = "/backend/metrics/";

/// The `Content-Type` of a scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of the request metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

/// Labels of the throttle refusals.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    scope: String,
}

/// Labels of the authentication refusals.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

/// Labels of the store errors.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreErrorLabels {
    operation: &'static str,
    kind: &'static str,
}

/// Labels of the outbox gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Labels of the delivery attempts.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    kind: &'static str,
    outcome: &'static str,
}

/// Labels of what maintenance removed.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RemovedLabels {
    what: &'static str,
}

/// Labels of the pool gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: String,
}

/// What a connection pool holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Open connections (idle and in use).
    pub size: u32,
    /// Idle connections.
    pub idle: u32,
    /// The most connections the pool may open.
    pub max: u32,
}

type PoolProbe = Arc<dyn Fn() -> PoolUsage + Send + Sync>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    throttled: Family<ThrottleLabels, Counter>,
    auth_refusals: Family<RefusalLabels, Counter>,
    store_errors: Family<StoreErrorLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    pool_probe: Option<PoolProbe>,
    outbox_pending: Family<KindLabels, Gauge>,
    outbox_oldest: Family<KindLabels, Gauge<f64, AtomicU64>>,
    deliveries: Family<DeliveryLabels, Counter>,
    removed: Family<RemovedLabels, Counter>,
}

/// The server's metrics. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("pool", &self.inner.pool_probe.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Metrics {
    /// A fresh registry; `pool_probe` is read at every scrape (PostgreSQL only).
    pub fn new(pool_probe: Option<Arc<dyn Fn() -> PoolUsage + Send + Sync>>) -> Self {
        let mut registry = Registry::with_prefix("exit3");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status",
            latency.clone(),
        );
        let throttled = Family::<ThrottleLabels, Counter>::default();
        let scopes: Vec<&str> = ThrottleScope::ALL.iter().map(|s| s.as_str()).collect();
        registry.register(
            "throttle_refusals",
            format!(
                "Requests refused by throttling (429), by the scope that refused: {}",
                scopes.join(", ")
            ),
            throttled.clone(),
        );
        let auth_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "auth_refusals",
            "Requests refused by authentication (403), by reason: no_credentials, \
             invalid_key, permission_denied",
            auth_refusals.clone(),
        );
        let store_errors = Family::<StoreErrorLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Store calls that failed, by operation and kind (unavailable, internal)",
            store_errors.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        if pool_probe.is_some() {
            registry.register(
                "db_pool_connections",
                "PostgreSQL pool connections by state: size (open), idle, max",
                pool.clone(),
            );
        }
        let outbox_pending = Family::<KindLabels, Gauge>::default();
        registry.register(
            "outbox_pending",
            "Outbox messages waiting for delivery, by kind (mail, webhook)",
            outbox_pending.clone(),
        );
        let outbox_oldest = Family::<KindLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest outbox message waiting for delivery, by kind (0: none)",
            outbox_oldest.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts of this process's worker, by kind and outcome (delivered, \
             skipped, retried, failed)",
            deliveries.clone(),
        );
        let removed = Family::<RemovedLabels, Counter>::default();
        registry.register(
            "retention_removed",
            "Records the maintenance step of this process removed (or, for client_info, \
             cleared), by what: the retention steps of privacy.md §2 and the expired \
             throttle keys, idempotency records and sessions",
            removed.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                throttled,
                auth_refusals,
                store_errors,
                pool,
                pool_probe,
                outbox_pending,
                outbox_oldest,
                deliveries,
                removed,
            }),
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status: status.to_string(),
        };
        self.inner.requests.get_or_create(&labels).inc();
        self.inner
            .latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records a throttle refusal by `scope`.
    pub fn observe_throttled(&self, scope: ThrottleScope) {
        self.inner
            .throttled
            .get_or_create(&ThrottleLabels {
                scope: scope.as_str().to_owned(),
            })
            .inc();
    }

    /// This registry as the service's [`Observer`]: build the service with
    /// `.observer(metrics.observer())` for refusals to be counted.
    pub fn observer(&self) -> Arc<dyn Observer> {
        Arc::new(self.clone())
    }

    fn observe_store_error(&self, call: StoreCall, error: &StoreError) {
        let kind = if error.is_unavailable() {
            "unavailable"
        } else {
            "internal"
        };
        self.inner
            .store_errors
            .get_or_create(&StoreErrorLabels {
                operation: call.as_str(),
                kind,
            })
            .inc();
    }

    /// Sets the outbox gauges from `stats` (the store's, read for this scrape) at `now`:
    /// every kind, 0 for one with nothing pending.
    pub fn set_outbox(&self, stats: &[OutboxStats], now: Timestamp) {
        for kind in OutboxKind::ALL {
            let labels = KindLabels {
                kind: kind.as_str(),
            };
            let found = stats.iter().find(|s| s.kind == *kind);
            let pending = found.map_or(0, |s| s.pending);
            let age = found
                .and_then(|s| s.oldest_pending)
                .map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0));
            self.inner
                .outbox_pending
                .get_or_create(&labels)
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
            self.inner.outbox_oldest.get_or_create(&labels).set(age);
        }
    }

    /// The whole registry in the OpenMetrics text format (ends with `# EOF`).
    pub fn render(&self) -> String {
        if let Some(probe) = &self.inner.pool_probe {
            let usage = probe();
            for (state, value) in [
                ("size", usage.size),
                ("idle", usage.idle),
                ("max", usage.max),
            ] {
                self.inner
                    .pool
                    .get_or_create(&PoolLabels {
                        state: state.to_owned(),
                    })
                    .set(i64::from(value));
            }
        }
        let mut out = String::new();
        if encode(&mut out, &self.inner.registry).is_err() {
            out.clear();
            let _ = writeln!(out, "# EOF");
        }
        out
    }

    /// `store`, with its errors counted here.
    pub fn watch_store(&self, store: DynStore) -> DynStore {
        Arc::new(Decorated::new(store, StoreErrors(self.clone())))
    }
}

impl Observer for Metrics {
    fn removed(&self, what: &'static str, count: u64) {
        self.inner
            .removed
            .get_or_create(&RemovedLabels { what })
            .inc_by(count);
    }

    fn delivered(&self, kind: OutboxKind, outcome: &'static str) {
        self.inner
            .deliveries
            .get_or_create(&DeliveryLabels {
                kind: kind.as_str(),
                outcome,
            })
            .inc();
    }

    fn refused(&self, refusal: Refusal) {
        match refusal {
            Refusal::Throttled(scope) => self.observe_throttled(scope),
            denied => {
                self.inner
                    .auth_refusals
                    .get_or_create(&RefusalLabels {
                        reason: denied.reason(),
                    })
                    .inc();
            }
        }
    }
}

/// Counts a store's failures in [`Metrics`], by call and kind.
#[derive(Debug)]
struct StoreErrors(Metrics);

impl StoreHook for StoreErrors {
    fn after(&self, call: StoreCall, outcome: Result<(), &StoreError>) {
        if let Err(e) = outcome {
            self.0.observe_store_error(call, e);
        }
    }
}

/// Whether a request is for `/backend/metrics` (its `OPTIONS` is answered like any route's).
pub(crate) fn serves(req: &Request, path: &str) -> bool {
    path == METRICS_PATH && req.method() != Method::OPTIONS
}

/// Serves `/backend/metrics`: the admin key only, never throttled (but a key that is not
/// valid counts as a failed authentication, as everywhere); `GET` and `HEAD` only.
pub(crate) async fn answer(
    req: &Request,
    exit3: &Exit3,
    metrics: &Metrics,
    debug: bool,
) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = detail_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &messages::method_not_allowed(req.method().as_str()),
        );
        if let Ok(allow) = READ_ONLY.parse() {
            resp.headers_mut().insert("allow", allow);
        }
        return resp;
    }
    let credential = crate::extract::credential_of(req);
    let ip = req.extensions().get::<ClientAddr>().and_then(|c| c.ip);
    let ctx = RequestContext::new(credential, ip);
    match exit3.admit(&ctx, Operation::ReadMetrics).await {
        Ok(_) => {
            // A store that cannot say leaves the gauges as they were (and counts a
            // store error).
            if let Ok(stats) = exit3.outbox_stats().await {
                metrics.set_outbox(&stats, exit3.now());
            }
            Response::builder()
                .content_type(CONTENT_TYPE)
                .body(metrics.render())
        }
        Err(e) => ReadError::from_core(e, debug).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_are_counted_by_what() {
        let metrics = Metrics::new(None);
        let observer = metrics.observer();
        observer.removed("quarantined_leads", 3);
        observer.removed("quarantined_leads", 2);
        observer.removed("throttle_keys", 7);
        let text = metrics.render();
        assert!(
            text.contains("exit3_retention_removed_total{what=\"quarantined_leads\"} 5"),
            "{text}"
        );
        assert!(text.contains("exit3_retention_removed_total{what=\"throttle_keys\"} 7"));
    }
}
