//! Error reports to Sentry, on only when `SENTRY_DSN` is set: every 5xx answer (but the
//! readiness probe's 503) and every panic in a request handler becomes one event tagged
//! with the route template, the method, the request id and the status. Warnings and
//! errors logged while the request ran come along as breadcrumbs.
//!
//! What never leaves: API keys, request bodies, headers, addresses and every
//! `client_info` field. No request data is attached (`send_default_pii` is off and the
//! event's `request` and `user` are dropped in `before_send`); breadcrumbs keep only their
//! message and an `error` field; any configured key that still shows up in a text is
//! replaced by `[redacted]`.

use crate::middleware::Layered;
use std::{borrow::Cow, sync::Arc};

use sentry::{
    Breadcrumb, ClientInitGuard, ClientOptions, Hub, Level,
    integrations::tracing::EventFilter,
    protocol::{Event, Value},
};
use tracing_subscriber::registry::LookupSpan;

use poem::{Endpoint, EndpointExt};
use sentry::SentryFutureExt;

use super::config::Settings;
use crate::middleware::{PanicMessage, RequestId, RouteTemplate, method_label};

/// What a report says about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The route template (`/backend/api/v1/leads/{id}/`), or `unmatched`.
    pub route: &'a str,
    /// The request id (also in the `X-Request-Id` answer header and the request log).
    pub request_id: &'a str,
    /// The status answered.
    pub status: u16,
    /// The panic message, when a handler panicked.
    pub panic: Option<&'a str>,
}

/// Starts the Sentry client when `SENTRY_DSN` is set; keep the guard until exit (it
/// flushes pending reports when dropped).
pub fn init(settings: &Settings) -> Option<ClientInitGuard> {
    let dsn = settings.sentry_dsn.as_deref()?;
    let dsn = match dsn.parse() {
        Ok(dsn) => dsn,
        Err(e) => {
            tracing::error!("SENTRY_DSN is not a valid DSN ({e}): error reports are off");
            return None;
        }
    };
    let secrets: Arc<Vec<String>> = Arc::new(
        settings
            .admin_keys
            .iter()
            .chain(&settings.public_keys)
            .cloned()
            .collect(),
    );
    let for_breadcrumbs = secrets.clone();
    let mut options = ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = sentry::release_name!();
    options.environment = settings.sentry_environment.clone().map(Cow::Owned);
    options.send_default_pii = false;
    options.attach_stacktrace = false;
    options.before_send = Some(Arc::new(move |event| Some(scrub_event(event, &secrets))));
    options.before_breadcrumb = Some(Arc::new(move |crumb| {
        Some(scrub_breadcrumb(crumb, &for_breadcrumbs))
    }));
    Some(sentry::init(options))
}

/// The `tracing` layer: warnings and errors become breadcrumbs of the request being
/// answered (the report itself is made by the front layer, once per 5xx); the request
/// log and everything below WARN are left out.
pub fn tracing_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    sentry::integrations::tracing::layer().event_filter(|meta| {
        if meta.target() == crate::middleware::ACCESS_LOG_TARGET {
            return EventFilter::Ignore;
        }
        match *meta.level() {
            tracing::Level::ERROR | tracing::Level::WARN => EventFilter::Breadcrumb,
            _ => EventFilter::Ignore,
        }
    })
}

/// Whether a Sentry client is running.
pub fn enabled() -> bool {
    Hub::main().client().is_some_and(|c| c.is_enabled())
}

/// Sends one event for a 5xx answer or a panic, on `hub` (the request's hub, which holds
/// its breadcrumbs).
pub fn report(hub: &Hub, facts: RequestFacts<'_>) {
    let message = match facts.panic {
        Some(panic) => format!("panic in {} {}: {panic}", facts.method, facts.route),
        None => format!("HTTP {} on {} {}", facts.status, facts.method, facts.route),
    };
    hub.with_scope(
        |scope| {
            scope.set_tag("route", facts.route);
            scope.set_tag("method", facts.method);
            scope.set_tag("request_id", facts.request_id);
            scope.set_tag("status", facts.status);
            scope.set_tag("panic", facts.panic.is_some());
            scope.set_fingerprint(Some(
                [
                    facts.route,
                    facts.method,
                    if facts.panic.is_some() {
                        "panic"
                    } else {
                        "status"
                    },
                    &facts.status.to_string(),
                ]
                .as_slice(),
            ));
        },
        || hub.capture_message(&message, Level::Error),
    );
}

/// Reports every 5xx answer (but the readiness probe's) and every panic of `inner`, each
/// on a hub of the request's own, so that the breadcrumbs logged while it ran go with its
/// report. Does nothing while no Sentry client runs.
pub fn layer(inner: Layered) -> Layered {
    inner
        .around(|ep, req| async move {
            if !enabled() {
                return ep.call(req).await;
            }
            let method = method_label(req.method());
            let hub = Arc::new(Hub::new_from_top(Hub::main()));
            let resp = ep.call(req).bind_hub(Arc::clone(&hub)).await?;
            let status = resp.status().as_u16();
            let route = resp
                .extensions()
                .get::<RouteTemplate>()
                .map_or(crate::routes::UNMATCHED, |r| r.0);
            let panic = resp
                .extensions()
                .get::<PanicMessage>()
                .map(|p| p.0.as_str());
            let readiness_probe = route == "/backend/health/";
            if (status >= 500 && !readiness_probe) || panic.is_some() {
                let request_id = resp
                    .extensions()
                    .get::<RequestId>()
                    .map_or("", |r| r.0.as_str());
                report(
                    &hub,
                    RequestFacts {
                        method,
                        route,
                        request_id,
                        status,
                        panic,
                    },
                );
            }
            Ok(resp)
        })
        .boxed()
}

fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
}

fn scrub_event(mut event: Event<'static>, secrets: &[String]) -> Event<'static> {
    event.request = None;
    event.user = None;
    event.extra.clear();
    event.message = event.message.map(|m| redact(&m, secrets));
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = redact(&entry.message, secrets);
        entry.params.clear();
    }
    for exception in &mut event.exception.values {
        exception.value = exception.value.as_deref().map(|v| redact(v, secrets));
    }
    for crumb in &mut event.breadcrumbs.values {
        *crumb = scrub_breadcrumb(std::mem::take(crumb), secrets);
    }
    event
}

fn scrub_breadcrumb(mut crumb: Breadcrumb, secrets: &[String]) -> Breadcrumb {
    crumb.message = crumb.message.map(|m| redact(&m, secrets));
    crumb.data.retain(|k, _| k == "error");
    for value in crumb.data.values_mut() {
        if let Value::String(s) = value {
            *s = redact(s, secrets);
        } else {
            *value = Value::Null;
        }
    }
    crumb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted_and_request_data_dropped() {
        let secrets = vec!["sekrit-key-0123456789".to_owned()];
        let mut event = Event {
            message: Some("failed for sekrit-key-0123456789".into()),
            request: Some(sentry::protocol::Request::default()),
            ..Event::default()
        };
        let mut crumb = Breadcrumb {
            message: Some("key sekrit-key-0123456789".into()),
            ..Breadcrumb::default()
        };
        crumb
            .data
            .insert("error".into(), "sekrit-key-0123456789 x".into());
        crumb.data.insert("email".into(), "ada@example.com".into());
        event.breadcrumbs.values.push(crumb);
        let event = scrub_event(event, &secrets);
        let text = serde_json::to_string(&event).unwrap_or_default();
        assert!(!text.contains("sekrit"), "{text}");
        assert!(!text.contains("ada@example.com"), "{text}");
        assert!(event.request.is_none());
    }
}
