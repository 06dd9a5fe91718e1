//! `OPTIONS` on a known route (not a preflight): 200 with `Allow` and a short metadata
//! body, without a key, as DRF's metadata answers (without its authentication).

use super::Layered;
use poem::{Endpoint, EndpointExt, http::Method, http::StatusCode};

use super::slash::matched;
use crate::errors::json_response;

/// Answers non-preflight `OPTIONS` of known routes.
pub(crate) fn layer(inner: Layered) -> Layered {
    inner
        .around(|ep, req| async move {
            if req.method() == Method::OPTIONS
                && let Some(route) = matched(&req).and_then(|m| m.route)
            {
                let mut resp = json_response(
                    StatusCode::OK,
                    &serde_json::json!({
                        "name": route.template,
                        "renders": ["application/json"],
                        "parses": ["application/json", "application/x-www-form-urlencoded"],
                    }),
                );
                if let Ok(allow) = route.allow.parse() {
                    resp.headers_mut().insert("allow", allow);
                }
                return Ok(resp);
            }
            ep.call(req).await
        })
        .boxed()
}
