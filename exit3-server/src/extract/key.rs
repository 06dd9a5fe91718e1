//! The presented API key, documented as the API-key security schemes.

use exit3_core::{Credential, RequestContext};
use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};

use super::Client;

/// The security scheme names of the OpenAPI document, one per header form.
pub const SECURITY_SCHEMES: [&str; 3] = ["BasicApiKey", "BearerApiKey", "HeaderApiKey"];

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
        Ok(Self(credential_of(req)))
    }
}

/// The key a request presented, in any form (a header that is not text is malformed).
pub fn credential_of(req: &Request) -> Credential {
    match (
        header_str(req, "authorization"),
        header_str(req, "x-api-key"),
    ) {
        (Ok(auth), Ok(key)) => Credential::from_headers(auth, key),
        _ => Credential::Malformed,
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
