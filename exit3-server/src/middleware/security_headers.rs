//! The headers every answer carries (§7): no sniffing, no framing, same-origin referrers
//! and openers; `Cache-Control: no-store` on API answers (they hold personal data)
//! unless a document set its own policy; HSTS on HTTPS answers when configured.

use poem::{
    Response,
    http::{HeaderValue, header},
};

/// The headers of every answer, made once.
#[derive(Debug, Clone)]
pub(crate) struct SecurityHeaders {
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    /// HSTS for `hsts_seconds` (none when 0), with `preload` if asked.
    pub(crate) fn new(hsts_seconds: u64, hsts_preload: bool) -> Self {
        let hsts = (hsts_seconds > 0)
            .then(|| {
                let mut value = format!("max-age={hsts_seconds}; includeSubDomains");
                if hsts_preload {
                    value.push_str("; preload");
                }
                HeaderValue::from_str(&value).ok()
            })
            .flatten();
        Self { hsts }
    }

    /// Adds them to an answer: `no-store` when it is the API's (`api`) and sets no policy
    /// of its own, HSTS when the request came over HTTPS.
    pub(crate) fn apply(&self, resp: &mut Response, api: bool, https: bool) {
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
        if https && let Some(hsts) = &self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
    }
}
