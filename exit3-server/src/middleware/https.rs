//! `SECURE_SSL_REDIRECT`: a plain-HTTP request is answered 301 to its `https://` URL,
//! except the health checks and the metrics (so that plain-HTTP probes and scrapes inside
//! the private network keep working).

use poem::{Request, Response, http::StatusCode};

use super::{hosts::raw_host, slash::Matched};
use crate::metrics::METRICS_PATH;

/// The 301 to the `https://` URL of a plain-HTTP request (`https` false) that is not
/// exempt.
pub(crate) fn redirect(req: &Request, matched: &Matched, https: bool) -> Option<Response> {
    let exempt = matched.path.starts_with("/backend/health/") || matched.path == METRICS_PATH;
    if https || exempt {
        return None;
    }
    let host = raw_host(req).unwrap_or_default();
    let target = match req.original_uri().path_and_query() {
        Some(pq) => format!("https://{host}{pq}"),
        None => format!("https://{host}/"),
    };
    let mut resp = Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .finish();
    if let Ok(location) = target.parse() {
        resp.headers_mut().insert("location", location);
    }
    Some(resp)
}
