//! The site's stylesheet, compiled into the binary (no CDN, no files to deploy).

use poem::{Response, handler};

const CSS: &str = include_str!("../assets/admin.css");

/// `GET static/admin.css`: cacheable for a day (it changes only with the binary).
#[handler]
pub(crate) fn css() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header("cache-control", "public, max-age=86400")
        .body(CSS)
}
