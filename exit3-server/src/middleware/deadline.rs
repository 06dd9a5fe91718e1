//! `REQUEST_TIMEOUT`: a request not answered in time answers 503 with `Retry-After`
//! (the work it started is dropped with it; the store's own timeouts bound its side).

use super::Layered;
use std::time::Duration;

use poem::{Endpoint, EndpointExt};

use crate::errors::unavailable_response;

/// Bounds every request by `timeout`.
pub(crate) fn layer(inner: Layered, timeout: Duration) -> Layered {
    inner
        .around(move |ep, req| async move {
            match tokio::time::timeout(timeout, ep.call(req)).await {
                Ok(answered) => answered,
                Err(_) => {
                    tracing::warn!(
                        timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                        "request not answered in time"
                    );
                    Ok(unavailable_response())
                }
            }
        })
        .boxed()
}
