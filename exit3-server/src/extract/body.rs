//! Request bodies read leniently: JSON or form-urlencoded, at most 64 KiB, the problems
//! answered only after the key and the throttle (as DRF does).

use std::{marker::PhantomData, time::Duration};

use exit3_core::{Error, Payload, messages};
use poem::{Request, RequestBody, error::ReadBodyError};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, Registry},
    types::Type,
};

use crate::{dto::Detail, errors::BodyErrors};

/// The largest request body accepted, in bytes (64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// How long reading a request body may take before it is given up.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A request body's bytes, at most [`MAX_BODY`] of them, read within 30 s.
pub async fn read_bytes(raw: poem::Body) -> Result<bytes::Bytes, BodyProblem> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, raw.into_bytes_limit(MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(ReadBodyError::PayloadTooLarge)) => Err(BodyProblem::TooLarge),
        Ok(Err(_)) | Err(_) => Err(BodyProblem::Unreadable),
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
            Self::TooLarge => E::too_large(Detail::new(messages::TOO_LARGE)),
            Self::UnsupportedMediaType(t) => {
                E::unsupported_media_type(Detail::new(messages::unsupported_media_type(&t)))
            }
            Self::JsonParse(m) => E::bad_request_detail(messages::json_parse_error(&m)),
            Self::Unreadable => E::bad_request_detail(messages::MALFORMED_REQUEST),
            Self::NotAnObject(e) => E::from_core(e, debug),
        }
    }
}

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
            Ok(raw) => read_bytes(raw)
                .await
                .and_then(|bytes| parse_body(content_type.as_deref(), &bytes)),
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
