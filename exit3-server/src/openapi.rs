//! The OpenAPI document of the API and its Swagger UI page, with the contract's canonical
//! paths, as static documents: built once, served from shared bytes (the page is 1.6 MB:
//! a request costs a reference count, not a copy), cacheable for an hour with an `ETag`,
//! so a browser that has them asks with `If-None-Match` and gets a 304.

use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::Bytes;
use exit3_core::Exit3;
use poem::{
    Endpoint, Request, Response,
    error::MethodNotAllowedError,
    http::{HeaderValue, Method, StatusCode, header},
};

use crate::api::{self, ApiState};

/// The OpenAPI document of `exit3`'s API, as JSON.
pub fn openapi_json(exit3: Exit3) -> String {
    canonical_spec(
        &api::service(ApiState {
            exit3,
            debug: false,
        })
        .spec(),
    )
}

/// The document with the contract's canonical paths: poem-openapi drops trailing
/// slashes from operation paths; the contract's paths keep them.
pub(crate) fn canonical_spec(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(spec) else {
        return spec.to_owned();
    };
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let slashed = std::mem::take(paths)
            .into_iter()
            .map(|(k, v)| {
                if k.ends_with('/') {
                    (k, v)
                } else {
                    (format!("{k}/"), v)
                }
            })
            .collect();
        *paths = slashed;
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// The document and the Swagger UI page over it, as served.
pub(crate) fn documents(
    service: &poem_openapi::OpenApiService<api::Apis, ()>,
) -> (Document, Document) {
    let raw_spec = service.spec();
    let spec = canonical_spec(&raw_spec);
    let html = service.swagger_ui_html().replace(&raw_spec, &spec);
    (
        Document::new(spec, "application/json"),
        Document::new(html, "text/html; charset=utf-8"),
    )
}

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
