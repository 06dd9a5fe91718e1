//! Every core error turned into the contract's status code, headers and body (§5), in
//! one place: an error type per kind of operation, listing only the statuses it can
//! answer, and the bodies of answers outside the operations.

use exit3_core::{Error, messages};
use poem_openapi::{ApiResponse, payload::Json};

use crate::dto::{BadRequestBody, Detail, ServerErrorBody};

/// Seconds a client is told to wait when the store is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Every operation's error type answers the core's errors.
pub trait FromCore: Sized {
    /// The contract's answer to a core error.
    fn from_core(error: Error, debug: bool) -> Self;
}

/// The error type of an operation that reads a body: also the body's own answers.
pub trait BodyErrors: FromCore {
    /// 413.
    fn too_large(detail: Detail) -> Self;
    /// 415.
    fn unsupported_media_type(detail: Detail) -> Self;
    /// 400 with a `detail`.
    fn bad_request_detail(detail: impl Into<String>) -> Self;
}

/// Builds the error enum of one kind of operation: the same core-error mapping, with
/// only the statuses the kind can answer, so the document lists no status an operation
/// never sends (a create has no 404; a body-less operation no 413 or 415).
macro_rules! error_enum {
    (
        $(#[$meta:meta])* $name:ident,
        not_found: { $($not_found:tt)* } => $on_not_found:expr,
        body: { $($body_variants:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ApiResponse)]
        pub enum $name {
            /// Validation failed: every failing field with its messages
            /// (`{"email":["Enter a valid email address."]}`), or a `detail`: a body
            /// that is not JSON, an unknown filter value, `Invalid host header.`
            #[oai(status = 400)]
            BadRequest(Json<BadRequestBody>),
            /// No key (`Authentication credentials were not provided.`), an unknown key or
            /// malformed header (`Invalid API key.`), or a public key on an admin route
            /// (`You do not have permission to perform this action.`).
            #[oai(status = 403)]
            Forbidden(Json<Detail>),
            $($not_found)*
            $($body_variants)*
            /// Throttled: `Request was throttled. Expected available in N seconds.`
            #[oai(status = 429)]
            Throttled(
                Json<Detail>,
                /// Whole seconds until a request would be accepted.
                #[oai(header = "Retry-After")]
                u64,
            ),
            /// `A server error occurred.` (the error chain only with `DEBUG=true`).
            #[oai(status = 500)]
            ServerError(Json<ServerErrorBody>),
            /// The store is unavailable, or the request was not answered within
            /// `REQUEST_TIMEOUT`: `Service temporarily unavailable.`
            #[oai(status = 503)]
            Unavailable(
                Json<Detail>,
                /// Seconds to wait before trying again.
                #[oai(header = "Retry-After")]
                u64,
            ),
        }

        impl FromCore for $name {
            fn from_core(error: Error, debug: bool) -> Self {
                match error {
                    Error::Validation(fields) => Self::BadRequest(Json(BadRequestBody::Fields(
                        fields
                            .iter()
                            .map(|(f, m)| (f.to_owned(), m.to_vec()))
                            .collect(),
                    ))),
                    e @ (Error::NotFound | Error::InvalidPage) => {
                        let on_not_found: fn(Error, bool) -> Self = $on_not_found;
                        on_not_found(e, debug)
                    }
                    e @ Error::Forbidden(_) => Self::Forbidden(Json(Detail::new(e.to_string()))),
                    e @ Error::Throttled { retry_after, .. } => {
                        Self::Throttled(Json(Detail::new(e.to_string())), retry_after.as_secs())
                    }
                    e @ Error::Unavailable { .. } => {
                        tracing::warn!(error = %chain(&e).join(": "), "store unavailable");
                        Self::Unavailable(Json(Detail::new(e.to_string())), UNAVAILABLE_RETRY_AFTER)
                    }
                    e => Self::ServerError(Json(server_error_body(&e, debug))),
                }
            }
        }

        impl $name {
            /// The contract's answer to a core error.
            pub fn from_core(error: Error, debug: bool) -> Self {
                <Self as FromCore>::from_core(error, debug)
            }
        }
    };
}

/// Body variants of the operations that read one.
macro_rules! body_errors {
    ($name:ident) => {
        impl BodyErrors for $name {
            fn too_large(detail: Detail) -> Self {
                Self::PayloadTooLarge(Json(detail))
            }
            fn unsupported_media_type(detail: Detail) -> Self {
                Self::UnsupportedMediaType(Json(detail))
            }
            fn bad_request_detail(detail: impl Into<String>) -> Self {
                Self::BadRequest(Json(BadRequestBody::Detail(Detail::new(detail))))
            }
        }
    };
}

/// A `NotFound` where the operation has no 404: a bug, answered as one.
fn not_found_is_a_bug<T: FromCore>(error: Error, debug: bool) -> T {
    T::from_core(
        Error::internal(format!("an operation without ids answered {error}")),
        debug,
    )
}

error_enum!(
    /// The errors of an operation on an id or a list, without a request body.
    ReadError,
    not_found: {
        /// `Not found.` (unknown id) or `Invalid page.` (lists).
        #[oai(status = 404)]
        NotFound(Json<Detail>),
    } => |e, _| Self::NotFound(Json(Detail::new(e.to_string()))),
    body: {}
);

error_enum!(
    /// The errors of an operation on an id with a request body (updates).
    WriteError,
    not_found: {
        /// `Not found.`: no such id.
        #[oai(status = 404)]
        NotFound(Json<Detail>),
    } => |e, _| Self::NotFound(Json(Detail::new(e.to_string()))),
    body: {
        /// The body is larger than 64 KiB: `Request body is too large.`
        #[oai(status = 413)]
        PayloadTooLarge(Json<Detail>),
        /// A media type other than JSON or form-urlencoded:
        /// `Unsupported media type "text/plain" in request.`
        #[oai(status = 415)]
        UnsupportedMediaType(Json<Detail>),
    }
);
body_errors!(WriteError);

error_enum!(
    /// The errors of an operation that takes a body but no id (creates, subscribe,
    /// unsubscribe): it has nothing to find.
    CreateError,
    not_found: {} => not_found_is_a_bug,
    body: {
        /// The body is larger than 64 KiB: `Request body is too large.`
        #[oai(status = 413)]
        PayloadTooLarge(Json<Detail>),
        /// A media type other than JSON or form-urlencoded:
        /// `Unsupported media type "text/plain" in request.`
        #[oai(status = 415)]
        UnsupportedMediaType(Json<Detail>),
    }
);
body_errors!(CreateError);

error_enum!(
    /// The errors of an operation without an id or a body (`GET form-token/`).
    PlainError,
    not_found: {} => not_found_is_a_bug,
    body: {}
);

error_enum!(
    /// The errors of the two creates that take an `Idempotency-Key` (`POST leads/`,
    /// `POST newsletter/`): a create's, and the key's own (capture.md §2).
    CaptureError,
    not_found: {} => not_found_is_a_bug,
    body: {
        /// The first request with this `Idempotency-Key` is still being processed:
        /// `A request with this Idempotency-Key is being processed.`
        #[oai(status = 409)]
        IdempotencyRunning(
            Json<Detail>,
            /// Seconds to wait before trying again (1).
            #[oai(header = "Retry-After")]
            u64,
        ),
        /// The body is larger than 64 KiB: `Request body is too large.`
        #[oai(status = 413)]
        PayloadTooLarge(Json<Detail>),
        /// A media type other than JSON or form-urlencoded:
        /// `Unsupported media type "text/plain" in request.`
        #[oai(status = 415)]
        UnsupportedMediaType(Json<Detail>),
        /// This `Idempotency-Key` was used with another request (method, path or body):
        /// `This Idempotency-Key was used with a different request.`
        #[oai(status = 422)]
        IdempotencyMismatch(Json<Detail>),
    }
);
body_errors!(CaptureError);

impl CaptureError {
    /// The contract's answer to a core error, the key's own included.
    pub fn from_capture(error: Error, debug: bool) -> Self {
        match error {
            e @ Error::InvalidIdempotencyKey => {
                Self::BadRequest(Json(BadRequestBody::Detail(Detail::new(e.to_string()))))
            }
            e @ Error::IdempotencyRunning => {
                Self::IdempotencyRunning(Json(Detail::new(e.to_string())), 1)
            }
            e @ Error::IdempotencyMismatch => {
                Self::IdempotencyMismatch(Json(Detail::new(e.to_string())))
            }
            e => Self::from_core(e, debug),
        }
    }
}

/// The 500 body; logs the chain.
pub fn server_error_body(
    error: &(dyn std::error::Error + 'static),
    debug: bool,
) -> ServerErrorBody {
    let chain = chain(error);
    tracing::error!(error = %chain.join(": "), "server error");
    ServerErrorBody {
        detail: messages::SERVER_ERROR.to_owned(),
        error_chain: debug.then_some(chain),
    }
}

/// An error and its sources, outermost first.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut source = error.source();
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

/// A JSON response with `status` and `body` outside the typed operations (404, 405, …).
pub fn json_response(
    status: poem::http::StatusCode,
    body: &impl serde::Serialize,
) -> poem::Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(bytes)
}

/// `{"detail": text}` as JSON.
pub fn detail_response(status: poem::http::StatusCode, text: &str) -> poem::Response {
    json_response(status, &serde_json::json!({ "detail": text }))
}

/// 503 `Service temporarily unavailable.` with `Retry-After`, outside the operations
/// (a request not answered in time).
pub fn unavailable_response() -> poem::Response {
    let mut resp = detail_response(
        poem::http::StatusCode::SERVICE_UNAVAILABLE,
        messages::UNAVAILABLE,
    );
    resp.headers_mut().insert(
        poem::http::header::RETRY_AFTER,
        poem::http::HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
    );
    resp
}
