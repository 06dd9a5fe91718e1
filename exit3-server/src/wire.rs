//! The wire format, in one place: the JSON shapes of the contract (§3), timestamps with
//! exactly six fractional digits, and every core error turned into the contract's status
//! code, headers and body (§5).

use std::{borrow::Cow, collections::BTreeMap, fmt::Write as _};

use exit3_core::{
    ClientInfo, Error, Lead, LeadStatus, Page, Subscriber, SubscriberStatus, SubscriberView,
    Timestamp,
};
use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse, Enum, Object, Union,
    payload::{Json, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A JSON answer written straight from its wire type by serde, where poem-openapi's
/// [`Json`] first builds a `serde_json::Value` tree (an ordered map per object, every
/// key and value allocated): for a page of 50 leads that tree was most of the server's
/// time. The document still describes `T` through its `Object` derive; a test checks
/// that both give the same JSON.
#[derive(Debug, Clone)]
pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        poem::web::Json(self.0).into_response()
    }
}

/// Seconds a client is told to wait when the store is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// A timestamp on the wire: RFC 3339 in UTC with exactly six fractional digits and `Z`
/// (`2025-12-31T12:34:56.123456Z`), whatever the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireTime(pub Timestamp);

impl WireTime {
    /// The contract's text form.
    pub fn format(at: Timestamp) -> String {
        let t = at.to_offset(time::UtcOffset::UTC);
        let mut out = String::with_capacity(27);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        );
        out
    }
}

impl Type for WireTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for WireTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => exit3_core::query::parse_datetime(&s)
                .map(WireTime)
                .ok_or_else(|| ParseError::custom("Enter a valid date/time.")),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for WireTime {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(Self::format(self.0)))
    }
}

impl Serialize for WireTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Self::format(self.0))
    }
}

/// `{"detail": "..."}`: every error that is not about fields.
#[derive(Debug, Clone, Object)]
pub struct Detail {
    /// What went wrong (DRF's texts).
    pub detail: String,
}

impl Detail {
    /// A detail body.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

/// A 500 body: the fixed text, and the error chain only when `DEBUG=true`.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ServerErrorBody {
    /// Always `A server error occurred.`
    pub detail: String,
    /// The error chain, outermost first; present only with `DEBUG=true`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_chain: Option<Vec<String>>,
}

/// A lead's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum LeadStatusWire {
    /// Not yet handled (the default).
    New,
    /// Someone got in touch.
    Contacted,
    /// Worth pursuing.
    Qualified,
    /// Became a customer.
    Converted,
    /// Went nowhere.
    Lost,
}

impl From<LeadStatus> for LeadStatusWire {
    fn from(s: LeadStatus) -> Self {
        match s {
            LeadStatus::New => Self::New,
            LeadStatus::Contacted => Self::Contacted,
            LeadStatus::Qualified => Self::Qualified,
            LeadStatus::Converted => Self::Converted,
            LeadStatus::Lost => Self::Lost,
        }
    }
}

/// A subscriber's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SubscriberStatusWire {
    /// Receives the newsletter (the default).
    Active,
    /// Asked to stop.
    Unsubscribed,
}

impl From<SubscriberStatus> for SubscriberStatusWire {
    fn from(s: SubscriberStatus) -> Self {
        match s {
            SubscriberStatus::Active => Self::Active,
            SubscriberStatus::Unsubscribed => Self::Unsubscribed,
        }
    }
}

/// Where a lead came from, captured at creation.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ClientInfoOut {
    /// The client address (see the proxy rule).
    #[oai(nullable)]
    pub ip_address: Option<String>,
    /// The `User-Agent` header, cut to 512 characters.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The `Referer` header, cut to 512 characters.
    #[oai(nullable)]
    pub referrer: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_source: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_medium: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_campaign: Option<String>,
}

impl From<ClientInfo> for ClientInfoOut {
    fn from(c: ClientInfo) -> Self {
        Self {
            ip_address: c.ip_address.map(|ip| ip.to_string()),
            user_agent: c.user_agent,
            referrer: c.referrer,
            utm_source: c.utm_source,
            utm_medium: c.utm_medium,
            utm_campaign: c.utm_campaign,
        }
    }
}

/// A lead, as the admin reads it.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "Lead")]
pub struct LeadOut {
    /// Read-only.
    pub id: i64,
    /// 1–255 characters.
    pub full_name: String,
    /// 1–255 characters.
    pub position: String,
    /// Up to 255 characters.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// A valid, non-disposable address.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( ) .`; up to 32 characters.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Up to 5000 characters; line breaks allowed.
    #[oai(nullable)]
    pub message: Option<String>,
    /// The workflow status.
    pub status: LeadStatusWire,
    /// One of the configured sources.
    pub source: String,
    /// One of the configured categories.
    pub category: String,
    /// Read-only; captured at creation.
    #[oai(nullable)]
    pub client_info: Option<ClientInfoOut>,
    /// Read-only.
    pub created_at: WireTime,
    /// Read-only.
    pub updated_at: WireTime,
}

impl From<Lead> for LeadOut {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id.get(),
            full_name: l.full_name,
            position: l.position,
            company_name: l.company_name,
            email: l.email,
            phone: l.phone,
            message: l.message,
            status: l.status.into(),
            source: l.source,
            category: l.category,
            client_info: l.client_info.map(Into::into),
            created_at: WireTime(l.created_at),
            updated_at: WireTime(l.updated_at),
        }
    }
}

/// A newsletter subscriber, as the admin reads it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Subscriber")]
pub struct SubscriberOut {
    /// Read-only.
    pub id: i64,
    /// Stored lower-cased; unique.
    pub email: String,
    /// Up to 255 characters.
    #[oai(nullable)]
    pub full_name: Option<String>,
    /// `active` or `unsubscribed`.
    pub status: SubscriberStatusWire,
    /// One of the configured sources.
    pub source: String,
    /// Read-only.
    pub created_at: WireTime,
    /// Read-only.
    pub updated_at: WireTime,
    /// Read-only; set when the subscriber unsubscribed.
    #[oai(nullable)]
    pub unsubscribed_at: Option<WireTime>,
}

impl From<Subscriber> for SubscriberOut {
    fn from(s: Subscriber) -> Self {
        Self {
            id: s.id.get(),
            email: s.email,
            full_name: s.full_name,
            status: s.status.into(),
            source: s.source,
            created_at: WireTime(s.created_at),
            updated_at: WireTime(s.updated_at),
            unsubscribed_at: s.unsubscribed_at.map(WireTime),
        }
    }
}

/// What the public key sees after subscribing: the address and its status only.
#[derive(Debug, Clone, Object)]
pub struct SubscriptionReceipt {
    /// The stored (lower-case) address.
    pub email: String,
    /// Its status.
    pub status: SubscriberStatusWire,
}

/// The body of a subscribe answer: the whole subscriber for the admin key, a receipt for
/// the public key.
#[derive(Debug, Clone, Union)]
pub enum SubscribeBody {
    /// For the admin key.
    Full(SubscriberOut),
    /// For the public key.
    Receipt(SubscriptionReceipt),
}

impl From<SubscriberView> for SubscribeBody {
    fn from(v: SubscriberView) -> Self {
        match v {
            SubscriberView::Full(s) => Self::Full(s.into()),
            SubscriberView::Receipt { email, status } => Self::Receipt(SubscriptionReceipt {
                email,
                status: status.into(),
            }),
        }
    }
}

/// A page of leads (DRF's page-number shape).
#[derive(Debug, Clone, Object, Serialize)]
pub struct LeadPage {
    /// How many leads match in all.
    pub count: u64,
    /// The next page's absolute URL, or null.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's absolute URL (page 1 without `page`), or null.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page's leads.
    pub results: Vec<LeadOut>,
}

/// A page of subscribers (DRF's page-number shape).
#[derive(Debug, Clone, Object)]
pub struct SubscriberPage {
    /// How many subscribers match in all.
    pub count: u64,
    /// The next page's absolute URL, or null.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's absolute URL (page 1 without `page`), or null.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page's subscribers.
    pub results: Vec<SubscriberOut>,
}

/// Field name → messages: the validation shape (`non_field_errors` for the body as a
/// whole).
pub type FieldMessages = BTreeMap<String, Vec<String>>;

/// A 400 body: either every failing field with its messages, or a `detail` (a body that
/// is not JSON).
#[derive(Debug, Clone, Union)]
pub enum BadRequestBody {
    /// `{"field": ["message", ...], ...}`
    Fields(FieldMessages),
    /// `{"detail": "JSON parse error - ..."}`
    Detail(Detail),
}

/// Links of a page: absolute, keeping every other query parameter, page 1 without `page`.
#[derive(Debug, Clone)]
pub struct PageLinks {
    /// `scheme://host/path/` of the list.
    pub base: String,
    /// The request's decoded query pairs.
    pub query: Vec<(String, String)>,
}

impl PageLinks {
    fn link(&self, page: u32) -> String {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        let mut wrote_page = false;
        for (k, v) in &self.query {
            if k == "page" {
                if !wrote_page && page > 1 {
                    pairs.append_pair("page", &page.to_string());
                }
                wrote_page = true;
                continue;
            }
            pairs.append_pair(k, v);
        }
        if !wrote_page && page > 1 {
            pairs.append_pair("page", &page.to_string());
        }
        let query = pairs.finish();
        if query.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{query}", self.base)
        }
    }

    /// `(next, previous)` for `page`.
    pub fn of<T>(&self, page: &Page<T>) -> (Option<String>, Option<String>) {
        let n = page.request.page();
        let next = page.has_next().then(|| self.link(n.saturating_add(1)));
        let previous = page.has_previous().then(|| self.link(n - 1));
        (next, previous)
    }
}

/// Every operation's error type answers the core's errors.
pub trait FromCore: Sized {
    /// The contract's answer to a core error.
    fn from_core(error: Error, debug: bool) -> Self;
}

/// The error type of an operation that reads a body: also the body's own answers.
pub trait BodyErrors: FromCore {
    /// 413.
    fn too_large(detail: Detail) -> Self;
    /// 415.
    fn unsupported_media_type(detail: Detail) -> Self;
    /// 400 with a `detail`.
    fn bad_request_detail(detail: impl Into<String>) -> Self;
}

/// Builds the error enum of one kind of operation: the same core-error mapping, with
/// only the statuses the kind can answer, so the document lists no status an operation
/// never sends (a create has no 404; a body-less operation no 413 or 415).
macro_rules! error_enum {
    (
        $(#[$meta:meta])* $name:ident,
        not_found: { $($not_found:tt)* } => $on_not_found:expr,
        body: { $($body_variants:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ApiResponse)]
        pub enum $name {
            /// Validation failed: every failing field with its messages
            /// (`{"email":["Enter a valid email address."]}`), or a `detail`: a body
            /// that is not JSON, an unknown filter value, `Invalid host header.`
            #[oai(status = 400)]
            BadRequest(Json<BadRequestBody>),
            /// No key (`Authentication credentials were not provided.`), an unknown key or
            /// malformed header (`Invalid API key.`), or a public key on an admin route
            /// (`You do not have permission to perform this action.`).
            #[oai(status = 403)]
            Forbidden(Json<Detail>),
            $($not_found)*
            $($body_variants)*
            /// Throttled: `Request was throttled. Expected available in N seconds.`
            #[oai(status = 429)]
            Throttled(
                Json<Detail>,
                /// Whole seconds until a request would be accepted.
                #[oai(header = "Retry-After")]
                u64,
            ),
            /// `A server error occurred.` (the error chain only with `DEBUG=true`).
            #[oai(status = 500)]
            ServerError(Json<ServerErrorBody>),
            /// The store is unavailable, or the request was not answered within
            /// `REQUEST_TIMEOUT`: `Service temporarily unavailable.`
            #[oai(status = 503)]
            Unavailable(
                Json<Detail>,
                /// Seconds to wait before trying again.
                #[oai(header = "Retry-After")]
                u64,
            ),
        }

        impl FromCore for $name {
            fn from_core(error: Error, debug: bool) -> Self {
                match error {
                    Error::Validation(fields) => Self::BadRequest(Json(BadRequestBody::Fields(
                        fields
                            .iter()
                            .map(|(f, m)| (f.to_owned(), m.to_vec()))
                            .collect(),
                    ))),
                    e @ (Error::NotFound | Error::InvalidPage) => {
                        let on_not_found: fn(Error, bool) -> Self = $on_not_found;
                        on_not_found(e, debug)
                    }
                    e @ Error::Forbidden(_) => Self::Forbidden(Json(Detail::new(e.to_string()))),
                    e @ Error::Throttled { retry_after, .. } => {
                        Self::Throttled(Json(Detail::new(e.to_string())), retry_after.as_secs())
                    }
                    e @ Error::Unavailable { .. } => {
                        tracing::warn!(error = %chain(&e).join(": "), "store unavailable");
                        Self::Unavailable(Json(Detail::new(e.to_string())), UNAVAILABLE_RETRY_AFTER)
                    }
                    e => Self::ServerError(Json(server_error_body(&e, debug))),
                }
            }
        }

        impl $name {
            /// The contract's answer to a core error.
            pub fn from_core(error: Error, debug: bool) -> Self {
                <Self as FromCore>::from_core(error, debug)
            }
        }
    };
}

/// Body variants of the operations that read one.
macro_rules! body_errors {
    ($name:ident) => {
        impl BodyErrors for $name {
            fn too_large(detail: Detail) -> Self {
                Self::PayloadTooLarge(Json(detail))
            }
            fn unsupported_media_type(detail: Detail) -> Self {
                Self::UnsupportedMediaType(Json(detail))
            }
            fn bad_request_detail(detail: impl Into<String>) -> Self {
                Self::BadRequest(Json(BadRequestBody::Detail(Detail::new(detail))))
            }
        }
    };
}

/// A `NotFound` where the operation has no 404: a bug, answered as one.
fn not_found_is_a_bug<T: FromCore>(error: Error, debug: bool) -> T {
    T::from_core(
        Error::internal(format!("an operation without ids answered {error}")),
        debug,
    )
}

error_enum!(
    /// The errors of an operation on an id or a list, without a request body.
    ReadError,
    not_found: {
        /// `Not found.` (unknown id) or `Invalid page.` (lists).
        #[oai(status = 404)]
        NotFound(Json<Detail>),
    } => |e, _| Self::NotFound(Json(Detail::new(e.to_string()))),
    body: {}
);

error_enum!(
    /// The errors of an operation on an id with a request body (updates).
    WriteError,
    not_found: {
        /// `Not found.`: no such id.
        #[oai(status = 404)]
        NotFound(Json<Detail>),
    } => |e, _| Self::NotFound(Json(Detail::new(e.to_string()))),
    body: {
        /// The body is larger than 64 KiB: `Request body is too large.`
        #[oai(status = 413)]
        PayloadTooLarge(Json<Detail>),
        /// A media type other than JSON or form-urlencoded:
        /// `Unsupported media type "text/plain" in request.`
        #[oai(status = 415)]
        UnsupportedMediaType(Json<Detail>),
    }
);
body_errors!(WriteError);

error_enum!(
    /// The errors of an operation that takes a body but no id (creates, subscribe,
    /// unsubscribe): it has nothing to find.
    CreateError,
    not_found: {} => not_found_is_a_bug,
    body: {
        /// The body is larger than 64 KiB: `Request body is too large.`
        #[oai(status = 413)]
        PayloadTooLarge(Json<Detail>),
        /// A media type other than JSON or form-urlencoded:
        /// `Unsupported media type "text/plain" in request.`
        #[oai(status = 415)]
        UnsupportedMediaType(Json<Detail>),
    }
);
body_errors!(CreateError);

/// The 500 body; logs the chain.
pub fn server_error_body(
    error: &(dyn std::error::Error + 'static),
    debug: bool,
) -> ServerErrorBody {
    let chain = chain(error);
    tracing::error!(error = %chain.join(": "), "server error");
    ServerErrorBody {
        detail: "A server error occurred.".to_owned(),
        error_chain: debug.then_some(chain),
    }
}

/// An error and its sources, outermost first.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut source = error.source();
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

/// A JSON response with `status` and `body` outside the typed operations (404, 405, …).
pub fn json_response(
    status: poem::http::StatusCode,
    body: &impl serde::Serialize,
) -> poem::Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(bytes)
}

/// `{"detail": text}` as JSON.
pub fn detail_response(status: poem::http::StatusCode, text: &str) -> poem::Response {
    json_response(status, &serde_json::json!({ "detail": text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SerdeJson` answers with serde what `Json` would answer through `ToJSON`: same
    /// keys, order, nulls, statuses and timestamps, for every status and with and without
    /// client info and optional fields.
    #[test]
    fn serde_and_to_json_write_the_same_lead_page() {
        let at = time::macros::datetime!(2025-01-02 03:04:05.1234567 +02:00);
        let lead = |i: i64, status: LeadStatusWire, full: bool| LeadOut {
            id: i,
            full_name: format!("Ada \"{i}\" Lovelace é\n"),
            position: "CTO".into(),
            company_name: full.then(|| "Analytical <Engines>".into()),
            email: full.then(|| "ada@example.com".into()),
            phone: full.then(|| "+44 20".into()),
            message: full.then(|| "line 1\r\nline 2\t\u{1F600}".into()),
            status,
            source: "website".into(),
            category: "consulting".into(),
            client_info: full.then(|| ClientInfoOut {
                ip_address: Some("2001:db8::1".into()),
                user_agent: Some("Mozilla/5.0".into()),
                referrer: None,
                utm_source: Some("google".into()),
                utm_medium: None,
                utm_campaign: Some("spring".into()),
            }),
            created_at: WireTime(at),
            updated_at: WireTime(at + time::Duration::microseconds(1)),
        };
        let statuses = [
            LeadStatusWire::New,
            LeadStatusWire::Contacted,
            LeadStatusWire::Qualified,
            LeadStatusWire::Converted,
            LeadStatusWire::Lost,
        ];
        let page = LeadPage {
            count: 12,
            next: Some("http://h/backend/api/v1/leads/?page=3".into()),
            previous: None,
            results: (0..10)
                .map(|i| lead(i, statuses[i as usize % 5], i % 2 == 0))
                .collect(),
        };
        let via_serde = serde_json::to_string(&page).unwrap_or_default();
        let via_to_json = page.to_json().map(|v| v.to_string()).unwrap_or_default();
        assert_eq!(via_serde, via_to_json);
        let one = lead(1, LeadStatusWire::Lost, true);
        assert_eq!(
            serde_json::to_string(&one).unwrap_or_default(),
            one.to_json().map(|v| v.to_string()).unwrap_or_default()
        );
    }

    #[test]
    fn timestamps_always_have_six_fractional_digits() {
        let t = time::macros::datetime!(2025-12-31 12:34:56 UTC);
        assert_eq!(WireTime::format(t), "2025-12-31T12:34:56.000000Z");
        let t = time::macros::datetime!(2025-01-02 03:04:05.1234567 +02:00);
        assert_eq!(WireTime::format(t), "2025-01-02T01:04:05.123456Z");
    }

    #[test]
    fn page_links_keep_other_parameters_and_drop_page_one() {
        let links = PageLinks {
            base: "http://h/backend/api/v1/leads/".into(),
            query: vec![
                ("status".into(), "new".into()),
                ("page".into(), "2".into()),
                ("search".into(), "a b&c".into()),
            ],
        };
        assert_eq!(
            links.link(1),
            "http://h/backend/api/v1/leads/?status=new&search=a+b%26c"
        );
        assert_eq!(
            links.link(3),
            "http://h/backend/api/v1/leads/?status=new&page=3&search=a+b%26c"
        );
        let bare = PageLinks {
            base: "http://h/x/".into(),
            query: vec![],
        };
        assert_eq!(bare.link(1), "http://h/x/");
        assert_eq!(bare.link(2), "http://h/x/?page=2");
    }
}
