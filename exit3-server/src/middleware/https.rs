//! `SECURE_SSL_REDIRECT`: a plain-HTTP request is answered 301 to its `https://` URL,
//! except the health checks and the metrics (so that plain-HTTP probes and scrapes inside
//! the private network keep working).

use super::Layered;
use poem::{Endpoint, EndpointExt, Response, http::StatusCode};

use super::{hosts::raw_host, slash::matched};
use crate::{extract::ClientAddr, metrics::METRICS_PATH};

/// Redirects plain HTTP when `redirect` is on.
pub(crate) fn layer(inner: Layered, redirect: bool) -> Layered {
    inner
        .around(move |ep, req| async move {
            let https = req
                .extensions()
                .get::<ClientAddr>()
                .is_some_and(|c| c.https);
            let exempt = matched(&req)
                .is_some_and(|m| m.path.starts_with("/backend/health/") || m.path == METRICS_PATH);
            if redirect && !https && !exempt {
                let host = raw_host(&req).unwrap_or_default();
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
                return Ok(resp);
            }
            ep.call(req).await
        })
        .boxed()
}
