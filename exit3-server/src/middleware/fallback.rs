//! Every answer that leaves the routes as JSON in the contract's shape: unknown routes
//! and ids (404), methods a route does not answer (405 with `Allow`), anything unexpected
//! (500, the error chain only with `DEBUG`), and a handler's panic (500, its message kept
//! on the answer for the error report).

use std::any::Any;

use exit3_core::messages;
use poem::{
    Endpoint, EndpointExt, Response,
    error::{MethodNotAllowedError, NotFoundError},
    http::{Method, StatusCode, header},
    middleware::CatchPanic,
};

use crate::{
    errors::{detail_response, json_response, server_error_body},
    routes::RouteInfo,
};

/// The message of a handler's panic, on its 500 answer for the error report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicMessage(pub String);

#[derive(Debug, thiserror::Error)]
#[error("a request handler panicked")]
struct Panicked;

/// An unexpected error that left the routes without a JSON body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unexpected(String);

/// Turns a handler's panic into the contract's 500.
pub(crate) fn catch_panics(
    routes: impl Endpoint<Output = Response> + 'static,
    debug: bool,
) -> super::Layered {
    routes
        .with(
            CatchPanic::new().with_handler(move |payload: Box<dyn Any + Send + 'static>| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned());
                let body = server_error_body(&Panicked, debug);
                let mut resp = json_response(StatusCode::INTERNAL_SERVER_ERROR, &body);
                resp.extensions_mut().insert(PanicMessage(message));
                resp
            }),
        )
        .boxed()
}

/// Renders an error of the routes as JSON.
pub(crate) fn render(
    err: poem::Error,
    method: &Method,
    route: Option<RouteInfo>,
    debug: bool,
) -> Response {
    if err.is::<NotFoundError>() {
        return detail_response(StatusCode::NOT_FOUND, messages::NOT_FOUND);
    }
    if err.is::<MethodNotAllowedError>() {
        let mut resp = detail_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &messages::method_not_allowed(method.as_str()),
        );
        if let Some(allow) = route.and_then(|r| r.allow.parse().ok()) {
            resp.headers_mut().insert("allow", allow);
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
        let body = server_error_body(&Unexpected(text), debug);
        json_response(StatusCode::INTERNAL_SERVER_ERROR, &body)
    } else {
        detail_response(status, &text)
    }
}
