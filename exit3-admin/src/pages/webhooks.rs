//! `webhooks/` and `webhooks/{id}/` (superusers): the endpoints events go to — add one,
//! disable or enable it, send a ping, rotate its secret, delete it — and each one's
//! recent deliveries. The rules (which URLs, who may) are the core's; a secret is shown
//! once, on the page that answers its creation or rotation.

use askama::Template;
use exit3_core::{
    Error, FieldErrors, Payload, QueryParams, events::EventType, webhooks::WebhookEndpoint,
};
use poem::{
    Body, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};
use serde_json::{Value, json};

use super::when;
use crate::{
    Site,
    auth::{self, Staff},
    form::Form,
    render::{self, Chrome, page},
};

/// The deliveries an endpoint's page shows.
const DELIVERIES_SHOWN: u32 = 50;

#[derive(Debug)]
struct EndpointRow {
    id: i64,
    url: String,
    events: String,
    description: String,
    enabled: bool,
    created: String,
}

impl From<&WebhookEndpoint> for EndpointRow {
    fn from(w: &WebhookEndpoint) -> Self {
        Self {
            id: w.id.get(),
            url: w.url.as_str().to_owned(),
            events: match w.events.names() {
                [all] if all == "*" => "every event".to_owned(),
                names => names.join(", "),
            },
            description: w.description.clone(),
            enabled: w.enabled,
            created: when(w.created_at),
        }
    }
}

/// The add form as typed, after a refused add.
#[derive(Debug, Default)]
struct Typed {
    url: String,
    description: String,
    /// The event types ticked.
    events: Vec<String>,
}

#[derive(Debug, Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    chrome: Chrome,
    endpoints: Vec<EndpointRow>,
    /// Every event type an endpoint may take.
    types: Vec<&'static str>,
    typed: Typed,
    url_errors: Vec<String>,
    events_errors: Vec<String>,
    description_errors: Vec<String>,
    notice: Option<&'static str>,
}

#[derive(Debug)]
struct DeliveryRow {
    event: &'static str,
    status: &'static str,
    attempts: u32,
    code: String,
    error: String,
    queued: String,
    next: String,
}

#[derive(Debug, Template)]
#[template(path = "webhook.html")]
struct DetailPage {
    chrome: Chrome,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryRow>,
    delivery_count: u64,
    /// A new secret, shown this once.
    secret: Option<String>,
    rotating: bool,
    notice: Option<&'static str>,
}

fn field_errors(errors: Option<&FieldErrors>, name: &str) -> Vec<String> {
    errors
        .and_then(|e| e.get(name))
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

async fn render_list(
    site: &Site,
    staff: &Staff,
    status: StatusCode,
    typed: Typed,
    errors: Option<&FieldErrors>,
    notice: Option<&'static str>,
) -> Response {
    let params = QueryParams::new([("page_size", "100")]);
    match site.exit3.list_webhooks(&staff.ctx, &params).await {
        Ok(listed) => page(
            status,
            &ListPage {
                chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "webhooks"),
                endpoints: listed.items.iter().map(EndpointRow::from).collect(),
                types: EventType::ALL
                    .iter()
                    .filter(|t| **t != EventType::Ping)
                    .map(|t| t.as_str())
                    .collect(),
                typed,
                url_errors: field_errors(errors, "url"),
                events_errors: field_errors(errors, "events"),
                description_errors: field_errors(errors, "description"),
                notice,
            },
        ),
        Err(e) => auth::failure(site, staff, "webhooks", &e),
    }
}

/// `GET webhooks/`.
#[handler]
pub(crate) async fn list(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let notice = match req.uri().query() {
        Some("deleted=1") => Some("Endpoint deleted."),
        _ => None,
    };
    render_list(site, &staff, StatusCode::OK, Typed::default(), None, notice).await
}

/// The add form as the API's body: no ticked type means every event (`*`).
fn new_endpoint(form: &Form) -> (Payload, Typed) {
    let typed = Typed {
        url: form.get("url").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        events: form.all("events").map(str::to_owned).collect(),
    };
    let events: Vec<Value> = if typed.events.is_empty() {
        vec![json!("*")]
    } else {
        typed.events.iter().map(|e| json!(e)).collect()
    };
    let body = json!({"url": typed.url, "description": typed.description, "events": events});
    (Payload::from_json(body).unwrap_or_default(), typed)
}

/// `POST webhooks/`: adds an endpoint and shows its secret once.
#[handler]
pub(crate) async fn add(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let (payload, typed) = new_endpoint(&form);
    match site.exit3.create_webhook(&staff.ctx, &payload).await {
        Ok(endpoint) => {
            let secret = endpoint.secret.expose();
            detail(
                site,
                &staff,
                &endpoint,
                StatusCode::CREATED,
                Some(secret),
                None,
            )
            .await
        }
        Err(Error::Validation(errors)) => {
            render_list(
                site,
                &staff,
                StatusCode::BAD_REQUEST,
                typed,
                Some(&errors),
                None,
            )
            .await
        }
        Err(e) => auth::failure(site, &staff, "webhooks", &e),
    }
}

async fn detail(
    site: &Site,
    staff: &Staff,
    endpoint: &WebhookEndpoint,
    status: StatusCode,
    secret: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let params = QueryParams::new([("page_size", DELIVERIES_SHOWN.to_string())]);
    let listed = match site
        .exit3
        .list_webhook_deliveries(&staff.ctx, endpoint.id.get(), &params)
        .await
    {
        Ok(listed) => listed,
        Err(e) => return auth::failure(site, staff, "webhooks", &e),
    };
    let deliveries = listed
        .items
        .iter()
        .map(|d| DeliveryRow {
            event: d.event_type.as_str(),
            status: d.status.as_str(),
            attempts: d.attempts,
            code: d
                .last_status_code
                .map(|c| c.to_string())
                .unwrap_or_default(),
            error: d.last_error.clone().unwrap_or_default(),
            queued: when(d.created_at),
            next: d.next_attempt_at.map(when).unwrap_or_default(),
        })
        .collect();
    page(
        status,
        &DetailPage {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "webhooks"),
            endpoint: EndpointRow::from(endpoint),
            deliveries,
            delivery_count: listed.count,
            rotating: endpoint.previous_secret.is_some(),
            secret,
            notice,
        },
    )
}

/// The id of the path, or the 404 every tampered id gets.
fn id_of(raw: &str) -> i64 {
    raw.parse::<i64>().ok().filter(|id| *id > 0).unwrap_or(0)
}

/// `GET webhooks/{id}/`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let notice = match req.uri().query() {
        Some("pinged=1") => Some("A ping is on its way: it shows below once it is sent."),
        Some("disabled=1") => Some("Disabled: it receives nothing until enabled again."),
        Some("enabled=1") => Some("Enabled."),
        Some("keep=1") => Some("Tick the box to confirm the deletion."),
        _ => None,
    };
    match site.exit3.get_webhook(&staff.ctx, id_of(&raw)).await {
        Ok(endpoint) => detail(site, &staff, &endpoint, StatusCode::OK, None, notice).await,
        Err(e) => auth::failure(site, &staff, "webhooks", &e),
    }
}

/// `POST webhooks/{id}/`: `action` = `disable`, `enable`, `ping`, `rotate`, or
/// `delete` (with the `confirm` box ticked).
#[handler]
pub(crate) async fn act(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let id = id_of(&raw);
    let here = |query: &str| render::see_other(&site.url(&format!("webhooks/{id}/?{query}")));
    let enabled = |on: bool| Payload::from_json(json!({ "enabled": on })).unwrap_or_default();
    let done = match form.get("action") {
        Some("disable") => site
            .exit3
            .update_webhook(&staff.ctx, id, &enabled(false))
            .await
            .map(|_| here("disabled=1")),
        Some("enable") => site
            .exit3
            .update_webhook(&staff.ctx, id, &enabled(true))
            .await
            .map(|_| here("enabled=1")),
        Some("ping") => site
            .exit3
            .ping_webhook(&staff.ctx, id)
            .await
            .map(|()| here("pinged=1")),
        Some("rotate") => match site.exit3.rotate_webhook_secret(&staff.ctx, id).await {
            Ok(endpoint) => {
                let secret = Some(endpoint.secret.expose());
                let notice = Some(
                    "A new secret: for 24 hours every delivery is signed with both the new \
                     and the previous one.",
                );
                return detail(site, &staff, &endpoint, StatusCode::OK, secret, notice).await;
            }
            Err(e) => Err(e),
        },
        Some("delete") if form.get("confirm") == Some("yes") => site
            .exit3
            .delete_webhook(&staff.ctx, id)
            .await
            .map(|()| render::see_other(&site.url("webhooks/?deleted=1"))),
        Some("delete") => Ok(here("keep=1")),
        _ => Err(Error::NotFound),
    };
    done.unwrap_or_else(|e| auth::failure(site, &staff, "webhooks", &e))
}
