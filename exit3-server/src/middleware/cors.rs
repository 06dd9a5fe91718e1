//! CORS (§7): a preflight `OPTIONS` answers 200, with the allowed methods and headers when
//! its origin is listed; answers to listed origins carry `Access-Control-Allow-Origin`.
//! Other origins get no CORS headers at all.

use poem::{
    Request, Response,
    http::{HeaderValue, Method, StatusCode, header},
};

/// The origins that may call the API from a browser.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cors {
    allowed: Vec<String>,
}

impl Cors {
    /// `CORS_ALLOWED_ORIGINS`.
    pub(crate) fn new(allowed: Vec<String>) -> Self {
        Self { allowed }
    }

    /// The request's `Origin` when it is listed, as the value to answer with.
    pub(crate) fn origin(&self, req: &Request) -> Option<HeaderValue> {
        if self.allowed.is_empty() {
            return None;
        }
        req.header("origin")
            .filter(|o| self.allowed.iter().any(|a| a == o))
            .and_then(|o| HeaderValue::from_str(o).ok())
    }
}

/// The answer to a preflight (with the allowed methods and headers when its origin is
/// `listed`), or `None` when the request is not one.
pub(crate) fn preflight(req: &Request, listed: bool) -> Option<Response> {
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method");
    if !preflight {
        return None;
    }
    let mut resp = Response::builder().status(StatusCode::OK).finish();
    if listed {
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
    Some(resp)
}

/// Marks an answer to a listed origin.
pub(crate) fn mark(resp: &mut Response, origin: Option<HeaderValue>) {
    if let Some(origin) = origin {
        resp.headers_mut()
            .insert("access-control-allow-origin", origin);
        resp.headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
    }
}
