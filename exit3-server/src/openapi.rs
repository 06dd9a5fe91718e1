//! The OpenAPI document and its Swagger UI page as static documents: built once, served
//! from shared bytes (the page is 1.6 MB: a request costs a reference count, not a
//! copy), cacheable for an hour with an `ETag`, so a browser that has them asks with
//! `If-None-Match` and gets a 304.

use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::Bytes;
use poem::{
    Endpoint, Request, Response,
    error::MethodNotAllowedError,
    http::{HeaderValue, Method, StatusCode, header},
};

/// How long a browser may keep the documents without asking again.
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// One static document.
#[derive(Debug, Clone)]
pub struct Document {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

impl Document {
    /// A document of `content_type`; its `ETag` is a hash of its bytes (the same in
    /// every process that serves the same build).
    pub fn new(body: String, content_type: &'static str) -> Self {
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish()))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            body: Bytes::from(body),
            content_type,
            etag,
        }
    }

    /// Whether `If-None-Match` names this version (or any, `*`).
    fn is_fresh(&self, req: &Request) -> bool {
        let Some(etag) = self.etag.to_str().ok() else {
            return false;
        };
        req.headers()
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*")
    }
}

impl Endpoint for Document {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Err(MethodNotAllowedError.into());
        }
        let builder = Response::builder()
            .header(header::ETAG, self.etag.clone())
            .header(header::CACHE_CONTROL, CACHE_CONTROL);
        if self.is_fresh(&req) {
            return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
        }
        Ok(builder
            .content_type(self.content_type)
            .body(self.body.clone()))
    }
}
