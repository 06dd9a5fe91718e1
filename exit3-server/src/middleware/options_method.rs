//! `OPTIONS` on a known route (not a preflight): 200 with `Allow` and a short metadata
//! body, without a key, as DRF's metadata answers (without its authentication).

use poem::{
    Request, Response,
    http::{Method, StatusCode},
};

use crate::{errors::json_response, routes::RouteInfo};

/// The metadata answer of a non-preflight `OPTIONS` of a known route.
pub(crate) fn answer(req: &Request, route: Option<RouteInfo>) -> Option<Response> {
    let route = route.filter(|_| req.method() == Method::OPTIONS)?;
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
    Some(resp)
}
