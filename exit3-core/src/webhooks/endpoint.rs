//! Webhook endpoints: where events go, which events, and the secrets that sign them.

use std::net::IpAddr;

use serde_json::Value;

use super::{address::is_public, signing::WebhookSecret};
use crate::{
    FieldErrors, clock::Timestamp, error::Error, events::EventType, id_type, input::Payload,
    messages,
};

id_type!(
    /// A webhook endpoint's id.
    WebhookId
);

/// The longest URL an endpoint may have.
pub const MAX_URL: usize = 2048;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 255;
/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// An endpoint's URL: `https://` (or `http://` where private addresses are allowed), no
/// credentials, at most 2,048 characters, and no literal address that is not public.
/// Names are checked again at every delivery, on the address connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses `text` under the rules above; `allow_private` is `WEBHOOK_ALLOW_PRIVATE`.
    pub fn parse(text: &str, allow_private: bool) -> Option<Self> {
        if text.chars().count() > MAX_URL {
            return None;
        }
        let url = url::Url::parse(text).ok()?;
        let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
        if !scheme_ok || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let literal: Option<IpAddr> = match url.host()? {
            url::Host::Domain(_) => None,
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        };
        if literal.is_some_and(|ip| !allow_private && !is_public(ip)) {
            return None;
        }
        if !allow_private
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || h.ends_with(".localhost"))
        {
            return None;
        }
        Some(Self(url.to_string()))
    }

    /// A URL a store kept (checked when it was saved).
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which events an endpoint receives: `*` (all) or a list of event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self(vec!["*".to_owned()])
    }

    /// The names as stored and shown.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The filter a store kept.
    pub fn from_stored(names: Vec<String>) -> Self {
        Self(names)
    }

    /// Whether `event` goes to an endpoint with this filter. `ping` is only ever sent to
    /// the one endpoint it is asked for.
    pub fn matches(&self, event: EventType) -> bool {
        event != EventType::Ping && self.0.iter().any(|n| n == "*" || n == event.as_str())
    }

    fn parse(value: &Value) -> Result<Self, String> {
        let Value::Array(items) = value else {
            return Err(messages::not_a_list(crate::input::python_type(value)));
        };
        let mut names = Vec::new();
        for item in items {
            let name = item.as_str().unwrap_or_default();
            if name != "*" && EventType::parse(name).is_none_or(|t| t == EventType::Ping) {
                return Err(messages::invalid_choice(&display(item)));
            }
            if !names.iter().any(|n: &String| n == name) {
                names.push(name.to_owned());
            }
        }
        if names.is_empty() {
            return Err(messages::EMPTY_LIST.to_owned());
        }
        Ok(Self(names))
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A stored endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Given by the store.
    pub id: WebhookId,
    /// Where deliveries go.
    pub url: WebhookUrl,
    /// What it receives.
    pub events: EventFilter,
    /// Staff's note.
    pub description: String,
    /// A disabled endpoint receives nothing (a receiver's 410 disables it).
    pub enabled: bool,
    /// Signs every delivery.
    pub secret: WebhookSecret,
    /// The secret before the last rotation, and until when it still signs.
    pub previous_secret: Option<(WebhookSecret, Timestamp)>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl WebhookEndpoint {
    /// Whether it is enabled and its filter takes `event_type`: who hears an event.
    pub fn listens(&self, event_type: EventType) -> bool {
        self.enabled && self.events.matches(event_type)
    }

    /// The secrets that sign a delivery at `now`: the current one, and the previous one
    /// during the 24 hours after a rotation.
    pub fn live_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let mut live = vec![&self.secret];
        if let Some((previous, until)) = &self.previous_secret
            && *until > now
        {
            live.push(previous);
        }
        live
    }
}

/// A valid new endpoint (`POST webhooks/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where.
    pub url: WebhookUrl,
    /// What (default `["*"]`).
    pub events: EventFilter,
    /// Staff's note (default empty).
    pub description: String,
}

/// Changes to an endpoint (`PATCH webhooks/{id}/`): only the fields given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// A new filter.
    pub events: Option<EventFilter>,
    /// A new note.
    pub description: Option<String>,
    /// On or off (on again also after a 410).
    pub enabled: Option<bool>,
}

impl WebhookPatch {
    /// Applies the patch.
    pub fn apply(&self, endpoint: &mut WebhookEndpoint, now: Timestamp) {
        if let Some(url) = &self.url {
            endpoint.url = url.clone();
        }
        if let Some(events) = &self.events {
            endpoint.events = events.clone();
        }
        if let Some(description) = &self.description {
            endpoint.description = description.clone();
        }
        if let Some(enabled) = self.enabled {
            endpoint.enabled = enabled;
        }
        endpoint.updated_at = now;
    }
}

impl NewWebhook {
    /// Parses a create body; every problem at once.
    pub fn parse(payload: &Payload, allow_private: bool) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let patch = parse_fields(payload, allow_private, &mut errors);
        if payload.value("url").is_none_or(Value::is_null) && errors.get("url").is_none() {
            errors.add("url", messages::REQUIRED);
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        match patch.url {
            Some(url) => Ok(Self {
                url,
                events: patch.events.unwrap_or_else(EventFilter::all),
                description: patch.description.unwrap_or_default(),
            }),
            None => Err(Error::Validation(FieldErrors::single(
                "url",
                messages::REQUIRED,
            ))),
        }
    }
}

impl WebhookPatch {
    /// Parses a patch body; every problem at once.
    pub fn parse(payload: &Payload, allow_private: bool) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let patch = parse_fields(payload, allow_private, &mut errors);
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(Error::Validation(errors))
        }
    }
}

fn parse_fields(payload: &Payload, allow_private: bool, errors: &mut FieldErrors) -> WebhookPatch {
    let mut patch = WebhookPatch::default();
    match payload.value("url") {
        None => {}
        Some(Value::Null) => errors.add("url", messages::NULL),
        Some(Value::String(s)) if s.trim().is_empty() => errors.add("url", messages::BLANK),
        Some(Value::String(s)) => match WebhookUrl::parse(s.trim(), allow_private) {
            Some(url) => patch.url = Some(url),
            None => errors.add("url", messages::PUBLIC_HTTPS_URL),
        },
        Some(_) => errors.add("url", messages::NOT_STRING),
    }
    match payload.value("events") {
        None => {}
        Some(Value::Null) => errors.add("events", messages::NULL),
        Some(v) => match EventFilter::parse(v) {
            Ok(f) => patch.events = Some(f),
            Err(e) => errors.add("events", e),
        },
    }
    match payload.value("description") {
        None => {}
        Some(Value::Null) => patch.description = Some(String::new()),
        Some(Value::String(s)) if s.chars().count() > MAX_DESCRIPTION => {
            errors.add("description", messages::too_long(MAX_DESCRIPTION));
        }
        Some(Value::String(s)) => match crate::text::clean(s, false) {
            Ok(text) if crate::text::has_markup(&text) => errors.add("description", messages::HTML),
            Ok(text) => patch.description = Some(text),
            Err(message) => errors.add("description", message),
        },
        Some(_) => errors.add("description", messages::NOT_STRING),
    }
    match payload.value("enabled") {
        None => {}
        Some(Value::Bool(b)) => patch.enabled = Some(*b),
        Some(_) => errors.add("enabled", messages::NOT_A_BOOLEAN),
    }
    patch
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(v: Value) -> Payload {
        Payload::from_json(v).unwrap_or_else(|_| panic!("an object"))
    }

    fn url_error(v: Value, allow_private: bool) -> Option<Vec<String>> {
        match NewWebhook::parse(&payload(v), allow_private) {
            Err(Error::Validation(e)) => e.get("url").map(<[String]>::to_vec),
            _ => None,
        }
    }

    #[test]
    fn only_public_https_urls_are_taken() {
        let bad = [
            "http://example.com/hook",
            "https://user:pw@example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.0.0.5/hook",
            "https://[::1]/hook",
            "https://localhost/hook",
            "ftp://example.com/",
            "not a url",
        ];
        for url in bad {
            assert_eq!(
                url_error(json!({"url": url}), false),
                Some(vec![messages::PUBLIC_HTTPS_URL.to_owned()]),
                "{url}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(url_error(json!({"url": long}), false).is_some());
        assert_eq!(
            url_error(json!({}), false),
            Some(vec![messages::REQUIRED.to_owned()])
        );
        assert!(
            NewWebhook::parse(&payload(json!({"url": "https://example.com/h"})), false).is_ok()
        );
        // Development: private and plain http allowed.
        assert!(NewWebhook::parse(&payload(json!({"url": "http://127.0.0.1:9/h"})), true).is_ok());
    }

    #[test]
    fn events_default_to_all_and_must_be_known() {
        let w = NewWebhook::parse(&payload(json!({"url": "https://example.com/h"})), false);
        assert_eq!(w.ok().map(|w| w.events), Some(EventFilter::all()));
        let w = NewWebhook::parse(
            &payload(
                json!({"url": "https://example.com/h", "events": ["lead.created", "lead.created"]}),
            ),
            false,
        );
        assert_eq!(
            w.ok().map(|w| w.events.names().to_vec()),
            Some(vec!["lead.created".to_owned()])
        );
        for bad in [
            json!("lead.created"),
            json!(["nope"]),
            json!(["ping"]),
            json!([]),
        ] {
            let r = NewWebhook::parse(
                &payload(json!({"url": "https://example.com/h", "events": bad})),
                false,
            );
            assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
        }
    }

    #[test]
    fn filters_match_their_events_and_never_ping() {
        let f = EventFilter::from_stored(vec!["subscriber.confirmed".to_owned()]);
        assert!(f.matches(EventType::SubscriberConfirmed));
        assert!(!f.matches(EventType::LeadCreated));
        assert!(EventFilter::all().matches(EventType::LeadDeleted));
        assert!(!EventFilter::all().matches(EventType::Ping));
    }
}
