//! The whole HTTP application as one poem [`Endpoint`]: the API routes, the schema and
//! Swagger UI, and in front of them everything of §5 and §7 that is about HTTP alone —
//! hosts, HTTPS redirect, HSTS, security headers, `Cache-Control`, CORS, the body limit,
//! the trailing-slash rule, JSON bodies for 404/405/500 — the request log, the metrics
//! (`/backend/metrics`, admin key only) and the error reports.

use std::{net::IpAddr, sync::Arc, time::Instant};

use exit3_core::{Credential, Exit3, Operation, RequestContext, TrustedProxies};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route,
    error::{MethodNotAllowedError, NotFoundError},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    middleware::CatchPanic,
    web::RemoteAddr,
};
use rand::Rng;
use sentry::SentryFutureExt;

use crate::{
    api::{self, ApiState},
    config::Settings,
    docs::Document,
    error_reports::{self, RequestFacts},
    extract::{ClientAddr, MAX_BODY, TOO_LARGE},
    metrics::{self, METRICS_PATH, Metrics},
    wire::{ReadError, UNAVAILABLE_RETRY_AFTER, detail_response, json_response, server_error_body},
};

/// The route label of a request no route matched (metrics, logs, error reports).
pub const UNMATCHED: &str = "unmatched";

/// The method as a label: the methods of HTTP/1.1 and PATCH, and `OTHER` for anything
/// else, so that no request can add a label value (a method is any token up to the
/// header limit).
pub fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ]
    .iter()
    .find(|m| *m == method)
    .map_or("OTHER", Method::as_str)
}

/// The routes of the contract, for `Allow` headers and the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// The route template, e.g. `/backend/api/v1/leads/{id}/`.
    pub template: &'static str,
    /// The methods it answers.
    pub allow: &'static str,
}

const LIST: &str = "GET, POST, HEAD, OPTIONS";
const DETAIL: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";
const SUB_DETAIL: &str = "GET, PATCH, DELETE, HEAD, OPTIONS";
const POST_ONLY: &str = "POST, OPTIONS";
const READ_ONLY: &str = "GET, HEAD, OPTIONS";

/// The route a (slash-normalised) path belongs to, if any.
pub fn route_of(path: &str) -> Option<RouteInfo> {
    let info = |template, allow| Some(RouteInfo { template, allow });
    match path {
        "/backend/health/" => return info("/backend/health/", READ_ONLY),
        "/backend/health/live/" => return info("/backend/health/live/", READ_ONLY),
        "/backend/api/schema/" => return info("/backend/api/schema/", READ_ONLY),
        "/backend/api/docs/" => return info("/backend/api/docs/", READ_ONLY),
        METRICS_PATH => return info(METRICS_PATH, READ_ONLY),
        _ => {}
    }
    let (v1, rest) = if let Some(rest) = path.strip_prefix("/backend/api/v1/") {
        (true, rest)
    } else {
        (false, path.strip_prefix("/backend/api/")?)
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let pick = |a: &'static str, b: &'static str| if v1 { a } else { b };
    match segments.as_slice() {
        ["leads"] => info(pick("/backend/api/v1/leads/", "/backend/api/leads/"), LIST),
        ["leads", id] if !id.is_empty() => info(
            pick("/backend/api/v1/leads/{id}/", "/backend/api/leads/{id}/"),
            DETAIL,
        ),
        ["newsletter"] => info(
            pick("/backend/api/v1/newsletter/", "/backend/api/newsletter/"),
            LIST,
        ),
        ["newsletter", "unsubscribe"] => info(
            pick(
                "/backend/api/v1/newsletter/unsubscribe/",
                "/backend/api/newsletter/unsubscribe/",
            ),
            POST_ONLY,
        ),
        ["newsletter", id] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/newsletter/{id}/",
                "/backend/api/newsletter/{id}/",
            ),
            SUB_DETAIL,
        ),
        _ => None,
    }
}

/// The `tracing` target of the request log (one event per request).
pub const ACCESS_LOG_TARGET: &str = "exit3_server::access";

/// What the front layer needs from the settings.
#[derive(Debug, Clone)]
struct Front {
    settings: Arc<Settings>,
    proxies: TrustedProxies,
    exit3: Exit3,
    metrics: Metrics,
}

/// The message of a handler's panic, put on the 500 answer for the error report.
#[derive(Debug, Clone)]
struct PanicMessage(String);

/// The API as a poem endpoint: mount it anywhere (`Route::new().nest("/crm", endpoint(..))`).
/// Every path it serves starts with `/backend/`. Its metrics are its own; use
/// [`endpoint_with_metrics`] to share a registry (and to count store errors).
pub fn endpoint(exit3: Exit3, settings: &Settings) -> impl Endpoint<Output = Response> + use<> {
    endpoint_with_metrics(exit3, settings, Metrics::default())
}

/// [`endpoint`], recording into `metrics` (served at `/backend/metrics`). Build the
/// service over [`Metrics::watch_store`] for the store errors to be counted.
pub fn endpoint_with_metrics(
    exit3: Exit3,
    settings: &Settings,
    metrics: Metrics,
) -> impl Endpoint<Output = Response> + use<> {
    let state = ApiState {
        exit3: exit3.clone(),
        debug: settings.debug,
    };
    let service = api::service(state);
    let raw_spec = service.spec();
    let spec = canonical_spec(&raw_spec);
    let html = service.swagger_ui_html().replace(&raw_spec, &spec);
    let debug = settings.debug;
    let on_panic = move |payload: Box<dyn std::any::Any + Send + 'static>| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        let body = server_error_body(&Panicked, debug);
        let mut resp = json_response(StatusCode::INTERNAL_SERVER_ERROR, &body);
        resp.extensions_mut().insert(PanicMessage(message));
        resp
    };
    let mut routes = Route::new().nest("/", service);
    if settings.api_docs {
        let spec = Document::new(spec, "application/json");
        let html = Document::new(html.as_str().to_owned(), "text/html; charset=utf-8");
        routes = routes
            .at("/backend/api/schema", spec)
            .at("/backend/api/docs", html);
    }
    let routes = routes.with(CatchPanic::new().with_handler(on_panic));
    App {
        front: Front {
            settings: Arc::new(settings.clone()),
            proxies: settings.trusted_proxies.clone(),
            exit3,
            metrics,
        },
        routes,
    }
}

/// The front layer over the routes.
struct App<E> {
    front: Front,
    routes: E,
}

impl<E: Endpoint<Output = Response>> Endpoint for App<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if error_reports::enabled() {
            // A hub per request: the breadcrumbs logged while it runs go with its report.
            let hub = Arc::new(sentry::Hub::new_from_top(sentry::Hub::main()));
            Ok(self
                .front
                .handle(req, &self.routes, Some(&hub))
                .bind_hub(hub.clone())
                .await)
        } else {
            Ok(self.front.handle(req, &self.routes, None).await)
        }
    }
}

/// The OpenAPI document of `exit3`'s API, as JSON.
pub fn openapi_json(exit3: Exit3) -> String {
    canonical_spec(
        &api::service(ApiState {
            exit3,
            debug: false,
        })
        .spec(),
    )
}

/// The document with the contract's canonical paths: poem-openapi drops trailing
/// slashes from operation paths; the contract's paths keep them.
fn canonical_spec(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(spec) else {
        return spec.to_owned();
    };
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let slashed = std::mem::take(paths)
            .into_iter()
            .map(|(k, v)| {
                if k.ends_with('/') {
                    (k, v)
                } else {
                    (format!("{k}/"), v)
                }
            })
            .collect();
        *paths = slashed;
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

#[derive(Debug, thiserror::Error)]
#[error("a request handler panicked")]
struct Panicked;

fn sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn new_request_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The host part of a `Host` value if it is well-formed (Django's rule), lower-cased.
fn host_name(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        (&host[..=end], &host[end + 1..])
    } else {
        match host.rsplit_once(':') {
            Some((n, _)) => (n, &host[n.len()..]),
            None => (host.as_str(), ""),
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    (port_ok && name_ok).then(|| name.trim_end_matches('.').to_owned())
}

fn peer_ip(req: &Request) -> Option<IpAddr> {
    match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    }
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

impl Front {
    async fn handle(
        &self,
        mut req: Request,
        routes: &impl Endpoint<Output = Response>,
        hub: Option<&Arc<sentry::Hub>>,
    ) -> Response {
        let started = Instant::now();
        let request_id = req
            .header("x-request-id")
            .filter(|id| sane_request_id(id))
            .map(str::to_owned)
            .unwrap_or_else(new_request_id);
        let method = req.method().clone();
        let peer = peer_ip(&req);
        let client = peer.map(|p| {
            self.proxies.client_addr(
                p,
                req.headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
        });
        let via_trusted_proxy = peer.is_some_and(|p| self.proxies.contains(p));
        let https = *req.scheme() == poem::http::uri::Scheme::HTTPS
            || (via_trusted_proxy
                && req
                    .header("x-forwarded-proto")
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
        req.extensions_mut()
            .insert(ClientAddr { ip: client, https });

        // Trailing slashes are canonical; the routes are registered without them, so a
        // path is answered the same with or without (no redirect).
        let mut path = req.uri().path().to_owned();
        if path.starts_with("/backend") && !path.ends_with('/') {
            path.push('/');
        }
        if let Some(internal) = path
            .strip_prefix("/backend/")
            .and_then(|_| path.strip_suffix('/'))
        {
            let new = match req.uri().query() {
                Some(q) => format!("{internal}?{q}"),
                None => internal.to_owned(),
            };
            if let Ok(uri) = new.parse::<Uri>() {
                *req.uri_mut() = uri;
            }
        }
        let route = route_of(&path);

        let answer = self.answer(req, &path, route, https, routes);
        let mut resp = match tokio::time::timeout(self.settings.request_timeout, answer).await {
            Ok(resp) => resp,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.settings.request_timeout.as_millis() as u64,
                    "request not answered in time"
                );
                let mut resp = detail_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable.",
                );
                set(
                    &mut resp,
                    "retry-after",
                    &UNAVAILABLE_RETRY_AFTER.to_string(),
                );
                resp
            }
        };

        let headers = resp.headers_mut();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        // API answers hold personal data; only the documents set a cache policy of
        // their own.
        if path.starts_with("/backend/") && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if https && self.settings.hsts_seconds > 0 {
            let mut hsts = format!("max-age={}; includeSubDomains", self.settings.hsts_seconds);
            if self.settings.hsts_preload {
                hsts.push_str("; preload");
            }
            set(&mut resp, "strict-transport-security", &hsts);
        }
        set(&mut resp, "x-request-id", &request_id);

        let template = route.map_or(UNMATCHED, |r| r.template);
        let status = resp.status().as_u16();
        let took = started.elapsed();
        let method = method_label(&method);
        self.metrics.observe_request(method, template, status, took);
        if let Some(hub) = hub {
            let panic = resp
                .extensions()
                .get::<PanicMessage>()
                .map(|p| p.0.as_str());
            let readiness_probe = template == "/backend/health/";
            if (status >= 500 && !readiness_probe) || panic.is_some() {
                error_reports::report(
                    hub,
                    RequestFacts {
                        method,
                        route: template,
                        request_id: &request_id,
                        status,
                        panic,
                    },
                );
            }
        }

        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method,
            route = template,
            status,
            duration_ms = took.as_secs_f64() * 1000.0,
            client = %client.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            request_id = %request_id,
            "request"
        );
        resp
    }

    /// `GET /backend/metrics`: the admin key only, never throttled (but a key that is
    /// not valid counts as a failed authentication, as everywhere).
    async fn metrics_answer(&self, req: &Request) -> Response {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut resp = detail_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method \"{}\" not allowed.", req.method()),
            );
            set(&mut resp, "allow", READ_ONLY);
            return resp;
        }
        let credential = match (
            req.headers().get("authorization").map(|v| v.to_str()),
            req.headers().get("x-api-key").map(|v| v.to_str()),
        ) {
            (Some(Err(_)), _) | (_, Some(Err(_))) => Credential::Malformed,
            (auth, key) => {
                Credential::from_headers(auth.and_then(Result::ok), key.and_then(Result::ok))
            }
        };
        let ip = req.extensions().get::<ClientAddr>().and_then(|c| c.ip);
        let ctx = RequestContext::new(credential, ip);
        match self.exit3.admit(&ctx, Operation::ReadMetrics).await {
            Ok(_) => Response::builder()
                .content_type(metrics::CONTENT_TYPE)
                .body(self.metrics.render()),
            Err(e) => ReadError::from_core(e, self.settings.debug).into_response(),
        }
    }

    async fn answer(
        &self,
        req: Request,
        path: &str,
        route: Option<RouteInfo>,
        https: bool,
        routes: &impl Endpoint<Output = Response>,
    ) -> Response {
        let raw_host = req
            .header("host")
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let host = raw_host.as_deref().and_then(host_name);
        if !host
            .as_deref()
            .is_some_and(|h| self.settings.host_allowed(h))
        {
            return detail_response(StatusCode::BAD_REQUEST, "Invalid host header.");
        }

        if self.settings.secure_ssl_redirect
            && !https
            && !path.starts_with("/backend/health/")
            && path != METRICS_PATH
        {
            let host = raw_host.unwrap_or_default();
            let target = match req.original_uri().path_and_query() {
                Some(pq) => format!("https://{host}{pq}"),
                None => format!("https://{host}/"),
            };
            let mut resp = Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .finish();
            set(&mut resp, "location", &target);
            return resp;
        }

        let origin = req
            .header("origin")
            .filter(|o| self.settings.cors_allowed_origins.iter().any(|a| a == o))
            .map(str::to_owned);
        let preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key("access-control-request-method");
        let mut resp = if path == METRICS_PATH && !preflight && req.method() != Method::OPTIONS {
            self.metrics_answer(&req).await
        } else if preflight {
            let mut resp = Response::builder().status(StatusCode::OK).finish();
            if origin.is_some() {
                set(
                    &mut resp,
                    "access-control-allow-methods",
                    "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                );
                set(
                    &mut resp,
                    "access-control-allow-headers",
                    "authorization, content-type, x-api-key",
                );
                set(&mut resp, "access-control-max-age", "86400");
            }
            resp
        } else if req.method() == Method::OPTIONS
            && let Some(route) = route
        {
            let mut resp = json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "name": route.template,
                    "renders": ["application/json"],
                    "parses": ["application/json", "application/x-www-form-urlencoded"],
                }),
            );
            set(&mut resp, "allow", route.allow);
            resp
        } else if [Method::POST, Method::PUT, Method::PATCH].contains(req.method())
            && req
                .header("content-length")
                .and_then(|l| l.trim().parse::<u64>().ok())
                .is_some_and(|l| l > MAX_BODY as u64)
        {
            // Only the methods that read a body refuse one (others never read it).
            detail_response(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE)
        } else {
            let method = req.method().clone();
            match routes.call(req).await {
                Ok(resp) => resp,
                Err(err) => self.render_error(err, &method, route),
            }
        };
        if let Some(origin) = origin {
            set(&mut resp, "access-control-allow-origin", &origin);
            resp.headers_mut()
                .append(header::VARY, HeaderValue::from_static("origin"));
        }
        resp
    }

    /// Every error that leaves the routes as JSON in the contract's shape.
    fn render_error(
        &self,
        err: poem::Error,
        method: &Method,
        route: Option<RouteInfo>,
    ) -> Response {
        if err.is::<NotFoundError>() {
            return detail_response(StatusCode::NOT_FOUND, "Not found.");
        }
        if err.is::<MethodNotAllowedError>() {
            let mut resp = detail_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("Method \"{method}\" not allowed."),
            );
            if let Some(route) = route {
                set(&mut resp, "allow", route.allow);
            }
            return resp;
        }
        let status = err.status();
        let text = err.to_string();
        // Errors built from an operation's typed response already hold the contract's
        // JSON; anything else is rendered here.
        let resp = err.into_response();
        let is_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        if is_json {
            resp
        } else if status.is_server_error() {
            let body = server_error_body(&Unexpected(text), self.settings.debug);
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &body)
        } else {
            detail_response(status, &text)
        }
    }
}

/// An unexpected error that left the routes without a JSON body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unexpected(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised_under_both_prefixes() {
        assert_eq!(
            route_of("/backend/api/v1/leads/12/").map(|r| r.template),
            Some("/backend/api/v1/leads/{id}/")
        );
        assert_eq!(
            route_of("/backend/api/newsletter/unsubscribe/").map(|r| r.allow),
            Some(POST_ONLY)
        );
        assert_eq!(route_of("/backend/api/v1/nope/"), None);
        assert_eq!(route_of("/elsewhere/"), None);
    }

    #[test]
    fn hosts_are_checked_for_syntax() {
        assert_eq!(host_name("LocalHost:8000").as_deref(), Some("localhost"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("evil.com/x"), None);
        assert_eq!(host_name("a:b"), None);
        assert_eq!(host_name(""), None);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(method_label(&odd), "OTHER");
    }

    #[test]
    fn request_ids_are_taken_only_if_sane() {
        assert!(sane_request_id("abc-123_x.y:z"));
        assert!(!sane_request_id("a b"));
        assert!(!sane_request_id(&"x".repeat(200)));
        assert_eq!(new_request_id().len(), 32);
    }
}
