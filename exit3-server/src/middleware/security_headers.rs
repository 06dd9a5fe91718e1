//! The headers every answer carries (§7): no sniffing, no framing, same-origin referrers
//! and openers; `Cache-Control: no-store` on API answers (they hold personal data)
//! unless a document set its own policy; HSTS on HTTPS answers when configured.

use super::Layered;
use std::sync::Arc;

use poem::{
    Endpoint, EndpointExt,
    http::{HeaderValue, header},
};

use super::slash::matched;
use crate::extract::ClientAddr;

/// Adds the security headers to every answer.
pub(crate) fn layer(inner: Layered, hsts_seconds: u64, hsts_preload: bool) -> Layered {
    let hsts = (hsts_seconds > 0).then(|| {
        let mut value = format!("max-age={hsts_seconds}; includeSubDomains");
        if hsts_preload {
            value.push_str("; preload");
        }
        HeaderValue::from_str(&value).ok()
    });
    let hsts = Arc::new(hsts.flatten());
    inner
        .around(move |ep, req| {
            let hsts = Arc::clone(&hsts);
            async move {
                let api = matched(&req).is_some_and(|m| m.path.starts_with("/backend/"));
                let https = req
                    .extensions()
                    .get::<ClientAddr>()
                    .is_some_and(|c| c.https);
                let mut resp = ep.call(req).await?;
                let headers = resp.headers_mut();
                for (name, value) in [
                    ("x-content-type-options", "nosniff"),
                    ("x-frame-options", "DENY"),
                    ("referrer-policy", "same-origin"),
                    ("cross-origin-opener-policy", "same-origin"),
                ] {
                    headers.insert(name, HeaderValue::from_static(value));
                }
                if api && !headers.contains_key(header::CACHE_CONTROL) {
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                }
                if https && let Some(hsts) = hsts.as_ref() {
                    headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
                }
                Ok(resp)
            }
        })
        .boxed()
}
