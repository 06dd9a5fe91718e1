//! The routes of the contract as data: each path's template (for logs, metrics and error
//! reports — never the raw path, which a client chooses) and the methods it answers (for
//! `Allow`).

use exit3_core::service::{CONFIRM_PATH, UNSUBSCRIBE_PATH};

use crate::metrics::METRICS_PATH;

/// Where the staff site is mounted (admin.md).
pub const STAFF_SITE: &str = "/backend/admin/";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The routes of the contract, for `Allow` headers and the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// The route template, e.g. `/backend/api/v1/leads/{id}/`.
    pub template: &'static str,
    /// The methods it answers.
    pub allow: &'static str,
}

pub(crate) const LIST: &str = "GET, POST, HEAD, OPTIONS";
pub(crate) const DETAIL: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";
pub(crate) const SUB_DETAIL: &str = "GET, PATCH, DELETE, HEAD, OPTIONS";
pub(crate) const POST_ONLY: &str = "POST, OPTIONS";
pub(crate) const READ_ONLY: &str = "GET, HEAD, OPTIONS";
/// An HTML page that shows on GET and acts on POST.
pub(crate) const PAGE: &str = "GET, POST, HEAD, OPTIONS";

/// The route a (slash-normalised) path belongs to, if any.
pub fn route_of(path: &str) -> Option<RouteInfo> {
    let info = |template, allow| Some(RouteInfo { template, allow });
    match path {
        "/backend/health/" => return info("/backend/health/", READ_ONLY),
        "/backend/health/live/" => return info("/backend/health/live/", READ_ONLY),
        "/backend/api/schema/" => return info("/backend/api/schema/", READ_ONLY),
        "/backend/api/docs/" => return info("/backend/api/docs/", READ_ONLY),
        METRICS_PATH => return info(METRICS_PATH, READ_ONLY),
        CONFIRM_PATH => return info(CONFIRM_PATH, PAGE),
        UNSUBSCRIBE_PATH => return info(UNSUBSCRIBE_PATH, PAGE),
        _ => {}
    }
    // The staff site (admin.md): one label for all of its pages, whose paths carry ids.
    if path.starts_with(STAFF_SITE) {
        return info(STAFF_SITE, PAGE);
    }
    let (v1, rest) = if let Some(rest) = path.strip_prefix("/backend/api/v1/") {
        (true, rest)
    } else {
        (false, path.strip_prefix("/backend/api/")?)
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let pick = |a: &'static str, b: &'static str| if v1 { a } else { b };
    match segments.as_slice() {
        ["leads"] => info(pick("/backend/api/v1/leads/", "/backend/api/leads/"), LIST),
        ["leads", "export.csv"] => info(
            pick(
                "/backend/api/v1/leads/export.csv",
                "/backend/api/leads/export.csv",
            ),
            READ_ONLY,
        ),
        ["newsletter", "export.csv"] => info(
            pick(
                "/backend/api/v1/newsletter/export.csv",
                "/backend/api/newsletter/export.csv",
            ),
            READ_ONLY,
        ),
        ["leads", id] if !id.is_empty() => info(
            pick("/backend/api/v1/leads/{id}/", "/backend/api/leads/{id}/"),
            DETAIL,
        ),
        ["leads", id, "release"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/leads/{id}/release/",
                "/backend/api/leads/{id}/release/",
            ),
            POST_ONLY,
        ),
        ["leads", id, "history"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/leads/{id}/history/",
                "/backend/api/leads/{id}/history/",
            ),
            READ_ONLY,
        ),
        ["webhooks"] => info(
            pick("/backend/api/v1/webhooks/", "/backend/api/webhooks/"),
            LIST,
        ),
        ["webhooks", id] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/webhooks/{id}/",
                "/backend/api/webhooks/{id}/",
            ),
            SUB_DETAIL,
        ),
        ["webhooks", id, "rotate-secret"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/webhooks/{id}/rotate-secret/",
                "/backend/api/webhooks/{id}/rotate-secret/",
            ),
            POST_ONLY,
        ),
        ["webhooks", id, "ping"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/webhooks/{id}/ping/",
                "/backend/api/webhooks/{id}/ping/",
            ),
            POST_ONLY,
        ),
        ["webhooks", id, "deliveries"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/webhooks/{id}/deliveries/",
                "/backend/api/webhooks/{id}/deliveries/",
            ),
            READ_ONLY,
        ),
        ["form-token"] => info(
            pick("/backend/api/v1/form-token/", "/backend/api/form-token/"),
            READ_ONLY,
        ),
        ["privacy", "export"] => info(
            pick(
                "/backend/api/v1/privacy/export/",
                "/backend/api/privacy/export/",
            ),
            READ_ONLY,
        ),
        ["privacy", "erase"] => info(
            pick(
                "/backend/api/v1/privacy/erase/",
                "/backend/api/privacy/erase/",
            ),
            POST_ONLY,
        ),
        ["newsletter"] => info(
            pick("/backend/api/v1/newsletter/", "/backend/api/newsletter/"),
            LIST,
        ),
        ["newsletter", "confirm"] => info(
            pick(
                "/backend/api/v1/newsletter/confirm/",
                "/backend/api/newsletter/confirm/",
            ),
            POST_ONLY,
        ),
        ["newsletter", "unsubscribe"] => info(
            pick(
                "/backend/api/v1/newsletter/unsubscribe/",
                "/backend/api/newsletter/unsubscribe/",
            ),
            POST_ONLY,
        ),
        ["newsletter", id, "release"] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/newsletter/{id}/release/",
                "/backend/api/newsletter/{id}/release/",
            ),
            POST_ONLY,
        ),
        ["newsletter", id] if !id.is_empty() => info(
            pick(
                "/backend/api/v1/newsletter/{id}/",
                "/backend/api/newsletter/{id}/",
            ),
            SUB_DETAIL,
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_recognised_under_both_prefixes() {
        assert_eq!(
            route_of("/backend/api/v1/leads/12/").map(|r| r.template),
            Some("/backend/api/v1/leads/{id}/")
        );
        assert_eq!(
            route_of("/backend/api/newsletter/unsubscribe/").map(|r| r.allow),
            Some(POST_ONLY)
        );
        assert_eq!(route_of("/backend/api/v1/nope/"), None);
        assert_eq!(route_of("/elsewhere/"), None);
    }
}
