//! `subscribers/` and `subscribers/{id}/`: the newsletter's subscribers — filters (status,
//! source), search, 100 a page — and each one's consent record, with unsubscribe and
//! delete (after a confirmation page).

use askama::Template;
use exit3_core::{Error, Payload, QueryParams, Subscriber, SubscriberStatus};
use poem::{
    Body, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};

use super::{query_string, when};
use crate::{
    Site,
    auth::{self, Staff},
    render::{self, Chrome, page},
};

pub(crate) const NAMES: [&str; 6] = [
    "status",
    "source",
    "search",
    "page",
    "quarantined",
    "ordering",
];

#[derive(Debug, Template)]
#[template(path = "subscribers.html")]
struct List {
    chrome: Chrome,
    /// The list's own query string, for the export link.
    query: String,
    /// Whether the signed-in user may export (not viewers).
    can_export: bool,
    search: String,
    status: String,
    source: String,
    statuses: Vec<&'static str>,
    sources: Vec<String>,
    rows: Vec<Row>,
    count: u64,
    errors: Vec<String>,
    filtered: bool,
    previous: Option<String>,
    next: Option<String>,
    page: u32,
    pages: u32,
}

#[derive(Debug)]
struct Row {
    id: i64,
    email: String,
    name: String,
    status: &'static str,
    source: String,
    created: String,
}

impl From<&Subscriber> for Row {
    fn from(s: &Subscriber) -> Self {
        Self {
            id: s.id.get(),
            email: s.email.clone(),
            name: s.full_name.clone().unwrap_or_default(),
            status: s.status.as_str(),
            source: s.source.clone(),
            created: when(s.created_at),
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "subscriber.html")]
struct Detail {
    chrome: Chrome,
    id: i64,
    email: String,
    status: &'static str,
    facts: Vec<(&'static str, String)>,
    consent: Vec<(&'static str, String)>,
    notice: Option<&'static str>,
    can_edit: bool,
    confirm_delete: bool,
}

/// `GET subscribers/`.
#[handler]
pub(crate) async fn list(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let pairs = super::list_pairs(req.uri().query(), &NAMES);
    let get = |name: &str| super::last(&pairs, name).unwrap_or_default();
    let mut params = pairs.clone();
    params.push(("page_size".into(), "100".into()));
    let (status, rows, count, errors) = match site
        .exit3
        .list_subscribers(&staff.ctx, &QueryParams::new(params))
        .await
    {
        Ok(p) => (StatusCode::OK, p.items, p.count, Vec::new()),
        Err(Error::Validation(e)) => (
            StatusCode::BAD_REQUEST,
            Vec::new(),
            0,
            e.iter()
                .flat_map(|(f, ms)| ms.iter().map(move |m| format!("{f}: {m}")))
                .collect(),
        ),
        Err(e) => return auth::failure(site, &staff, "subscribers", &e),
    };
    let page_number: u32 = get("page").parse().unwrap_or(1);
    let pages = u32::try_from(count.div_ceil(100))
        .unwrap_or(u32::MAX)
        .max(1);
    let to_page = |n: u32| {
        let mut kept: Vec<(&str, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        if n > 1 {
            kept.push(("page", n.to_string()));
        }
        format!(
            "{}?{}",
            site.url("subscribers/"),
            query_string(kept.iter().map(|(k, v)| (*k, v.as_str())))
        )
    };
    page(
        status,
        &List {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "subscribers"),
            query: query_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            can_export: staff.user.role.allows(exit3_core::Operation::ExportCsv),
            search: get("search").to_owned(),
            status: get("status").to_owned(),
            source: get("source").to_owned(),
            statuses: SubscriberStatus::ALL.iter().map(|s| s.as_str()).collect(),
            sources: site.exit3.policy().sources().to_vec(),
            rows: rows.iter().map(Row::from).collect(),
            count,
            errors,
            filtered: pairs.iter().any(|(k, _)| k != "page"),
            previous: (page_number > 1).then(|| to_page(page_number - 1)),
            next: (page_number < pages).then(|| to_page(page_number + 1)),
            page: page_number,
            pages,
        },
    )
}

fn detail(
    site: &Site,
    staff: &Staff,
    s: &Subscriber,
    notice: Option<&'static str>,
    confirm_delete: bool,
) -> Detail {
    let opt = |t: Option<exit3_core::Timestamp>| t.map(when).unwrap_or_default();
    let c = &s.consent;
    Detail {
        chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "subscribers"),
        id: s.id.get(),
        email: s.email.clone(),
        status: s.status.as_str(),
        facts: vec![
            ("Name", s.full_name.clone().unwrap_or_default()),
            ("Source", s.source.clone()),
            ("Created", when(s.created_at)),
            ("Updated", when(s.updated_at)),
            ("Confirmed", opt(s.confirmed_at)),
            ("Unsubscribed", opt(s.unsubscribed_at)),
            (
                "Quarantine",
                s.quarantine
                    .as_ref()
                    .map(|q| {
                        q.reasons
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
            ),
        ],
        consent: vec![
            ("Wording shown", c.text.clone().unwrap_or_default()),
            ("Asked for", opt(c.subscribed_at)),
            (
                "From address",
                c.subscribed_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            (
                "With browser",
                c.subscribed_user_agent.clone().unwrap_or_default(),
            ),
            (
                "Confirmed from",
                c.confirmed_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            (
                "Confirmed with",
                c.confirmed_user_agent.clone().unwrap_or_default(),
            ),
            (
                "Left by",
                c.unsubscribe_method
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default(),
            ),
        ],
        notice,
        can_edit: staff
            .user
            .role
            .allows(exit3_core::Operation::UpdateSubscriber),
        confirm_delete,
    }
}

fn id_of(raw: &str) -> Result<i64, Error> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(Error::NotFound)
}

/// `GET subscribers/{id}/` (and `?delete` for the confirmation).
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
    let found = match id_of(&raw) {
        Ok(id) => site.exit3.get_subscriber(&staff.ctx, id).await,
        Err(e) => Err(e),
    };
    let query = req.uri().query().unwrap_or_default();
    let notice = (query == "done=unsubscribed").then_some("Unsubscribed.");
    match found {
        Ok(s) => page(
            StatusCode::OK,
            &detail(site, &staff, &s, notice, query == "delete"),
        ),
        Err(e) => auth::failure(site, &staff, "subscribers", &e),
    }
}

/// `POST subscribers/{id}/`: `action` `unsubscribe` or `delete`.
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
    let id = match id_of(&raw) {
        Ok(id) => id,
        Err(e) => return auth::failure(site, &staff, "subscribers", &e),
    };
    let outcome = match form.get("action") {
        Some("unsubscribe") => site
            .exit3
            .patch_subscriber(
                &staff.ctx,
                id,
                &Payload::empty().with("status", SubscriberStatus::Unsubscribed.as_str()),
            )
            .await
            .map(|_| site.url(&format!("subscribers/{id}/?done=unsubscribed"))),
        Some("delete") => site
            .exit3
            .delete_subscriber(&staff.ctx, id)
            .await
            .map(|()| site.url("subscribers/")),
        _ => Ok(site.url(&format!("subscribers/{id}/"))),
    };
    match outcome {
        Ok(to) => render::see_other(&to),
        Err(e) => auth::failure(site, &staff, "subscribers", &e),
    }
}
