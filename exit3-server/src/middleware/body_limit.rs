//! The body limit (64 KiB): a method that reads a body and declares a larger one gets 413
//! at once (bodies that turn out larger while read are refused by the reader).

use super::Layered;
use exit3_core::messages;
use poem::{Endpoint, EndpointExt, http::Method, http::StatusCode};

use crate::{errors::detail_response, extract::MAX_BODY};

/// Refuses declared bodies over the limit.
pub(crate) fn layer(inner: Layered) -> Layered {
    inner
        .around(|ep, req| async move {
            let too_large = [Method::POST, Method::PUT, Method::PATCH].contains(req.method())
                && req
                    .header("content-length")
                    .and_then(|l| l.trim().parse::<u64>().ok())
                    .is_some_and(|l| l > MAX_BODY as u64);
            if too_large {
                return Ok(detail_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    messages::TOO_LARGE,
                ));
            }
            ep.call(req).await
        })
        .boxed()
}
