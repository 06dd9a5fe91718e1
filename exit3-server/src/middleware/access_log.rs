//! The request log and the request metrics: one line and one observation per request,
//! with the method as a known label, the route template (never the raw path), the
//! status, the time taken, the client and the request id — never a key or a body.

use super::Layered;
use std::time::Instant;

use poem::{Endpoint, EndpointExt, http::Method};

use super::{RequestId, slash::matched};
use crate::{extract::ClientAddr, metrics::Metrics, routes::UNMATCHED};

/// The `tracing` target of the request log (one event per request).
pub const ACCESS_LOG_TARGET: &str = "exit3_server::access";

/// The route template of an answered request, in its extensions (for error reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteTemplate(pub &'static str);

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

/// Logs and counts every request.
pub(crate) fn layer(inner: Layered, metrics: Metrics) -> Layered {
    inner
        .around(move |ep, req| {
            let metrics = metrics.clone();
            async move {
                let started = Instant::now();
                let method = method_label(req.method());
                let template = matched(&req)
                    .and_then(|m| m.route)
                    .map_or(UNMATCHED, |r| r.template);
                let client = req
                    .extensions()
                    .get::<ClientAddr>()
                    .and_then(|c| c.ip)
                    .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
                let request_id = req
                    .extensions()
                    .get::<RequestId>()
                    .map(|r| r.0.clone())
                    .unwrap_or_default();
                let mut resp = ep.call(req).await?;
                let status = resp.status().as_u16();
                let took = started.elapsed();
                metrics.observe_request(method, template, status, took);
                tracing::info!(
                    target: ACCESS_LOG_TARGET,
                    method,
                    route = template,
                    status,
                    duration_ms = took.as_secs_f64() * 1000.0,
                    client = %client,
                    request_id = %request_id,
                    "request"
                );
                resp.extensions_mut().insert(RouteTemplate(template));
                Ok(resp)
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(method_label(&odd), "OTHER");
    }
}
