//! What the operations take from a request: the presented key (documented as the API-key
//! security scheme), where the request came from, a leniently parsed body, and the raw
//! query of a list.

mod body;
mod key;

use std::net::IpAddr;

use exit3_core::{Origin, QueryParams};
use poem::{FromRequest, Request, RequestBody};

pub use self::{
    body::{BodyProblem, LenientBody, MAX_BODY, parse_body, read_bytes},
    key::{ApiKey, SECURITY_SCHEMES, credential_of},
};

/// The `Idempotency-Key` header of the two creates, for the document: the front
/// middleware acts on it before the operation runs (capture.md §2).
pub type IdempotencyKeyHeader = poem_openapi::param::Header<Option<String>>;
use crate::dto::PageLinks;

/// Where a request came from, as the front middleware found out: the client address
/// (after the trusted-proxy rule) and whether it arrived over HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr {
    /// The client address; `None` when the peer is not an IP socket.
    pub ip: Option<IpAddr>,
    /// TLS, or a trusted proxy's `X-Forwarded-Proto: https`.
    pub https: bool,
}

/// The client of a request: address (after the proxy rule), `User-Agent` and `Referer`.
#[derive(Debug, Clone)]
pub struct Client {
    /// For throttling and client info.
    pub origin: Origin,
}

impl<'a> FromRequest<'a> for Client {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let ip = req.extensions().get::<ClientAddr>().and_then(|c| c.ip);
        let text = |name| {
            req.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Ok(Self {
            origin: Origin {
                ip,
                user_agent: text("user-agent"),
                referrer: text("referer"),
            },
        })
    }
}

/// The query of a list request and the base of its page links.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The decoded query.
    pub params: QueryParams,
    /// For `next` / `previous`.
    pub links: PageLinks,
}

impl<'a> FromRequest<'a> for ListQuery {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let https = req
            .extensions()
            .get::<ClientAddr>()
            .is_some_and(|c| c.https);
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_owned());
        let mut path = req.original_uri().path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        let scheme = if https { "https" } else { "http" };
        Ok(Self {
            params: QueryParams::new(pairs.clone()),
            links: PageLinks {
                base: format!("{scheme}://{host}{path}"),
                query: pairs,
            },
        })
    }
}
