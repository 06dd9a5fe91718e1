//! What the operations take from a request: the presented key (documented as the API-key
//! security scheme), where the request came from, a leniently parsed body, and the raw
//! query of a list.

use std::{marker::PhantomData, net::IpAddr, time::Duration};

use exit3_core::{Credential, Error, Origin, Payload, QueryParams, RequestContext};
use poem::{FromRequest, Request, RequestBody, error::ReadBodyError};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSecurityScheme, Registry},
    types::Type,
};

use crate::wire::{BodyErrors, Detail, PageLinks};

/// The largest request body accepted, in bytes (64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// How long reading a request body may take before it is given up.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The security scheme names of the OpenAPI document, one per header form.
pub const SECURITY_SCHEMES: [&str; 3] = ["BasicApiKey", "BearerApiKey", "HeaderApiKey"];

/// Where a request came from, as the front middleware found out: the client address
/// (after the trusted-proxy rule) and whether it arrived over HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr {
    /// The client address; `None` when the peer is not an IP socket.
    pub ip: Option<IpAddr>,
    /// TLS, or a trusted proxy's `X-Forwarded-Proto: https`.
    pub https: bool,
}

/// The API key a request presented, in any of the three header forms. Extraction never
/// fails: the core decides what a missing or malformed key answers.
#[derive(Debug, Clone)]
pub struct ApiKey(pub Credential);

fn header_str<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>, ()> {
    match req.headers().get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ()),
    }
}

impl<'a> ApiExtractor<'a> for ApiKey {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        let scheme = |ty, description, name, key_in, scheme| MetaSecurityScheme {
            ty,
            description: Some(description),
            name,
            key_in,
            scheme,
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        };
        registry.create_security_scheme(
            SECURITY_SCHEMES[0],
            scheme(
                "apiKey",
                "`Authorization: Basic <key>` with the raw key (not base64 `user:password`): \
                 what the website sends. `BASIC_API_KEY` is the admin key (every route), \
                 `PUBLIC_API_KEY` the public key (create leads, subscribe, unsubscribe).",
                Some("Authorization"),
                Some("header"),
                None,
            ),
        );
        registry.create_security_scheme(
            SECURITY_SCHEMES[1],
            scheme(
                "http",
                "`Authorization: Bearer <key>` with the same keys.",
                None,
                None,
                Some("bearer"),
            ),
        );
        registry.create_security_scheme(
            SECURITY_SCHEMES[2],
            scheme(
                "apiKey",
                "`X-API-Key: <key>` with the same keys.",
                Some("X-API-Key"),
                Some("header"),
                None,
            ),
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        SECURITY_SCHEMES.to_vec()
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let credential = match (
            header_str(req, "authorization"),
            header_str(req, "x-api-key"),
        ) {
            (Ok(auth), Ok(key)) => Credential::from_headers(auth, key),
            _ => Credential::Malformed,
        };
        Ok(Self(credential))
    }
}

impl ApiKey {
    /// The core's view of the request.
    pub fn context(self, client: Client) -> RequestContext {
        RequestContext {
            credential: self.0,
            origin: client.origin,
        }
    }
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

/// Why a body could not be read as a payload.
#[derive(Debug)]
pub enum BodyProblem {
    /// Over 64 KiB.
    TooLarge,
    /// Neither JSON nor form-urlencoded; holds the `Content-Type` as sent.
    UnsupportedMediaType(String),
    /// Not JSON: the parser's message.
    JsonParse(String),
    /// Not readable (the client went away, or was too slow).
    Unreadable,
    /// Valid JSON, but not an object (the core's validation error).
    NotAnObject(Error),
}

impl BodyProblem {
    /// The contract's answer, in the operation's error type.
    pub fn into_error<E: BodyErrors>(self, debug: bool) -> E {
        match self {
            Self::TooLarge => E::too_large(Detail::new(TOO_LARGE)),
            Self::UnsupportedMediaType(t) => E::unsupported_media_type(Detail::new(format!(
                "Unsupported media type \"{t}\" in request."
            ))),
            Self::JsonParse(m) => E::bad_request_detail(format!("JSON parse error - {m}")),
            Self::Unreadable => E::bad_request_detail("Malformed request."),
            Self::NotAnObject(e) => E::from_core(e, debug),
        }
    }
}

/// The 413 text.
pub const TOO_LARGE: &str = "Request body is too large.";

/// A request body read leniently as a [`Payload`]: JSON or form-urlencoded; an empty body
/// or one without a `Content-Type` is `{}`. `T` only documents the fields in the OpenAPI
/// document: field checks are the core's, which reports every failing field at once.
///
/// Extraction never fails, so that the key and the throttle are checked first, as DRF
/// does; the operation answers [`BodyProblem`] after admitting the request.
#[derive(Debug)]
pub struct LenientBody<T> {
    /// The payload, or why there is none.
    pub payload: Result<Payload, BodyProblem>,
    _schema: PhantomData<fn() -> T>,
}

/// Reads a raw body as the contract says.
pub fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Payload, BodyProblem> {
    let Some(content_type) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Payload::empty());
    };
    if bytes.is_empty() {
        return Ok(Payload::empty());
    }
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| BodyProblem::JsonParse(e.to_string()))?;
            Payload::from_json(value).map_err(BodyProblem::NotAnObject)
        }
        "application/x-www-form-urlencoded" => Ok(Payload::from_pairs(
            form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )),
        _ => Err(BodyProblem::UnsupportedMediaType(content_type.to_owned())),
    }
}

impl<'a, T: Type> ApiExtractor<'a> for LenientBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![
                MetaMediaType {
                    content_type: "application/json",
                    schema: T::schema_ref(),
                },
                MetaMediaType {
                    content_type: "application/x-www-form-urlencoded",
                    schema: T::schema_ref(),
                },
            ],
            required: false,
        })
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let content_type = req
            .headers()
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let payload = match body.take() {
            Err(_) => Ok(Payload::empty()),
            Ok(raw) => {
                match tokio::time::timeout(BODY_READ_TIMEOUT, raw.into_bytes_limit(MAX_BODY)).await
                {
                    Ok(Ok(bytes)) => parse_body(content_type.as_deref(), &bytes),
                    Ok(Err(ReadBodyError::PayloadTooLarge)) => Err(BodyProblem::TooLarge),
                    Ok(Err(_)) | Err(_) => Err(BodyProblem::Unreadable),
                }
            }
        };
        Ok(Self {
            payload,
            _schema: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_as_the_contract_says() {
        assert!(parse_body(None, b"garbage").is_ok_and(|p| p == Payload::empty()));
        assert!(parse_body(Some("text/plain"), b"").is_ok_and(|p| p == Payload::empty()));
        assert!(matches!(
            parse_body(Some("text/plain"), b"x"),
            Err(BodyProblem::UnsupportedMediaType(t)) if t == "text/plain"
        ));
        assert!(matches!(
            parse_body(Some("application/json; charset=utf-8"), b"{"),
            Err(BodyProblem::JsonParse(_))
        ));
        assert!(matches!(
            parse_body(Some("application/json"), b"[1]"),
            Err(BodyProblem::NotAnObject(_))
        ));
        let form = parse_body(Some("application/x-www-form-urlencoded"), b"a=1&b=x+y&a=2");
        assert!(form.is_ok_and(|p| p == Payload::empty().with("a", "2").with("b", "x y")));
    }
}
