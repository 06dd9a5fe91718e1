//! CORS (§7): a preflight `OPTIONS` answers 200, with the allowed methods and headers when
//! its origin is listed; answers to listed origins carry `Access-Control-Allow-Origin`.
//! Other origins get no CORS headers at all.

use super::Layered;
use std::sync::Arc;

use poem::{
    Endpoint, EndpointExt, Response,
    http::{HeaderValue, Method, StatusCode, header},
};

/// Answers preflights and marks answers to listed origins.
pub(crate) fn layer(inner: Layered, allowed_origins: Vec<String>) -> Layered {
    let allowed = Arc::new(allowed_origins);
    inner
        .around(move |ep, req| {
            let allowed = Arc::clone(&allowed);
            async move {
                let origin = req
                    .header("origin")
                    .filter(|o| allowed.iter().any(|a| a == o))
                    .and_then(|o| HeaderValue::from_str(o).ok());
                let preflight = req.method() == Method::OPTIONS
                    && req.headers().contains_key("access-control-request-method");
                let mut resp = if preflight {
                    let mut resp = Response::builder().status(StatusCode::OK).finish();
                    if origin.is_some() {
                        let headers = resp.headers_mut();
                        for (name, value) in [
                            (
                                "access-control-allow-methods",
                                "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                            ),
                            (
                                "access-control-allow-headers",
                                "authorization, content-type, x-api-key",
                            ),
                            ("access-control-max-age", "86400"),
                        ] {
                            headers.insert(name, HeaderValue::from_static(value));
                        }
                    }
                    resp
                } else {
                    ep.call(req).await?
                };
                if let Some(origin) = origin {
                    resp.headers_mut()
                        .insert("access-control-allow-origin", origin);
                    resp.headers_mut()
                        .append(header::VARY, HeaderValue::from_static("origin"));
                }
                Ok(resp)
            }
        })
        .boxed()
}
