//! `REQUEST_TIMEOUT`: a request not answered in time answers 503 with `Retry-After`
//! (the work it started is dropped with it; the store's own timeouts bound its side).

use std::{future::Future, time::Duration};

use poem::Response;

use crate::errors::unavailable_response;

/// The answer of `answering`, or 503 when it takes longer than `timeout`.
pub(crate) async fn bound(
    timeout: Duration,
    answering: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(timeout, answering).await {
        Ok(answered) => answered,
        Err(_) => {
            tracing::warn!(
                timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                "request not answered in time"
            );
            unavailable_response()
        }
    }
}
