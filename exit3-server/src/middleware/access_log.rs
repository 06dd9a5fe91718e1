//! The request log and the request metrics: one line and one observation per request,
//! with the method as a known label, the route template (never the raw path), the
//! status, the time taken, the client and the request id — never a key or a body.

use std::{fmt, net::IpAddr, time::Instant};

use poem::{Response, http::Method};

use super::slash::Matched;
use crate::{metrics::Metrics, routes::UNMATCHED};

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

/// One request's line of the log, begun when it arrives.
pub(crate) struct Entry {
    started: Instant,
    method: &'static str,
    template: &'static str,
    client: Option<IpAddr>,
}

/// The client as logged: its address, or `-`.
struct Client(Option<IpAddr>);

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("-"),
        }
    }
}

impl Entry {
    /// Starts the clock of a request.
    pub(crate) fn begin(method: &Method, matched: &Matched, client: Option<IpAddr>) -> Self {
        Self {
            started: Instant::now(),
            method: method_label(method),
            template: matched.route.map_or(UNMATCHED, |r| r.template),
            client,
        }
    }

    /// Logs and counts the answer, and marks it with its route for the error reports.
    pub(crate) fn finish(self, metrics: &Metrics, request_id: &str, resp: &mut Response) {
        let status = resp.status().as_u16();
        let took = self.started.elapsed();
        metrics.observe_request(self.method, self.template, status, took);
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method = self.method,
            route = self.template,
            status,
            duration_ms = took.as_secs_f64() * 1000.0,
            client = %Client(self.client),
            request_id = %request_id,
            "request"
        );
        resp.extensions_mut().insert(RouteTemplate(self.template));
    }
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
