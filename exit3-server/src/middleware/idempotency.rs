//! `Idempotency-Key` on `POST leads/` and `POST newsletter/` (capture.md §2). The core
//! decides ([`Exit3::begin_idempotent`]); this reads the body for the request's
//! fingerprint, answers a kept answer again with `Idempotent-Replayed: true`, and gives
//! the route's answer back to the core to keep.

use exit3_core::{
    Exit3, Operation, RequestContext,
    service::{Idempotent, IdempotentRequest},
};
use poem::{IntoResponse, Request, Response, http::Method};

use crate::{
    errors::CaptureError,
    extract::{ClientAddr, credential_of, read_bytes},
    routes::RouteInfo,
};

/// The header.
pub const HEADER: &str = "idempotency-key";

/// The operation an idempotent request runs, when it is one: a `POST` with the header
/// to one of the two creates.
pub(crate) fn operation(req: &Request, route: Option<RouteInfo>) -> Option<Operation> {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return None;
    }
    let template = route?.template;
    if template.ends_with("/leads/") {
        Some(Operation::CreateLead)
    } else if template.ends_with("/newsletter/") {
        Some(Operation::Subscribe)
    } else {
        None
    }
}

/// Runs an idempotent request: `routes` answers it unless a kept answer or the key's
/// rule does.
pub(crate) async fn run<F, Fut>(
    mut req: Request,
    operation: Operation,
    exit3: &Exit3,
    debug: bool,
    routes: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let ip = req.extensions().get::<ClientAddr>().and_then(|c| c.ip);
    let ctx = RequestContext::new(credential_of(&req), ip);
    let bytes = match read_bytes(req.take_body()).await {
        Ok(bytes) => bytes,
        // As the route answers a body it cannot read: after the key and the throttle.
        Err(problem) => {
            return match exit3.admit(&ctx, operation).await {
                Err(e) => CaptureError::from_core(e, debug).into_response(),
                Ok(_) => problem.into_error::<CaptureError>(debug).into_response(),
            };
        }
    };
    // A header that is not text breaks the rule like a bad character does.
    let key = req
        .headers()
        .get(HEADER)
        .map_or("", |v| v.to_str().unwrap_or("\u{0}"));
    let request = IdempotentRequest {
        key,
        method: req.method().as_str(),
        path: req.original_uri().path(),
        body: &bytes,
    };
    let begun = exit3.begin_idempotent(&ctx, operation, request).await;
    match begun {
        Err(e) => CaptureError::from_capture(e, debug).into_response(),
        Ok(Idempotent::Replay(answer)) => Response::builder()
            .status(
                poem::http::StatusCode::from_u16(answer.status)
                    .unwrap_or(poem::http::StatusCode::OK),
            )
            .content_type("application/json; charset=utf-8")
            .header("idempotent-replayed", "true")
            .body(answer.body),
        Ok(Idempotent::Untracked) => {
            req.set_body(bytes);
            routes(req).await
        }
        Ok(Idempotent::Started(ticket)) => {
            req.set_body(bytes);
            let mut resp = routes(req).await;
            let status = resp.status().as_u16();
            let body = match resp.take_body().into_bytes().await {
                Ok(body) => body,
                Err(e) => {
                    tracing::warn!(error = %e, "an answer could not be kept for its Idempotency-Key");
                    bytes::Bytes::new()
                }
            };
            let text = String::from_utf8_lossy(&body);
            if let Err(e) = exit3.finish_idempotent(ticket, status, &text).await {
                // The work is done and answered; the key stays held until its lease
                // ends, and a retry after that runs again.
                tracing::warn!(error = %e, "an Idempotency-Key's answer could not be kept");
            }
            resp.set_body(body);
            resp
        }
    }
}
