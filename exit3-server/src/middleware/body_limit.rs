//! The body limit (64 KiB): a method that reads a body and declares a larger one gets 413
//! at once (bodies that turn out larger while read are refused by the reader).

use exit3_core::messages;
use poem::{
    Request, Response,
    http::{Method, StatusCode},
};

use crate::{errors::detail_response, extract::MAX_BODY};

/// The 413 of a request that declares a body over the limit.
pub(crate) fn refuse(req: &Request) -> Option<Response> {
    let too_large = [Method::POST, Method::PUT, Method::PATCH].contains(req.method())
        && req
            .header("content-length")
            .and_then(|l| l.trim().parse::<u64>().ok())
            .is_some_and(|l| l > MAX_BODY as u64);
    too_large.then(|| detail_response(StatusCode::PAYLOAD_TOO_LARGE, messages::TOO_LARGE))
}
