//! `history/`: every change, newest first, filtered by actor and object (admin.md
//! "History"); and the rows a lead's page shows of its own history.

use askama::Template;
use exit3_core::{Error, HistoryEntry, HistoryObject, QueryParams};
use poem::{Request, Response, handler, http::StatusCode, web::Data};

use super::{query_string, when};
use crate::{
    Site,
    auth::{self, Staff},
    render::{Chrome, page},
};

const NAMES: [&str; 3] = ["actor", "object", "page"];

/// How many entries a page shows.
const PAGE_SIZE: u32 = 100;

/// One entry as a row.
#[derive(Debug)]
pub(crate) struct EntryRow {
    pub(crate) when: String,
    pub(crate) actor: String,
    /// The history of this actor.
    pub(crate) actor_href: String,
    pub(crate) action: &'static str,
    pub(crate) object: String,
    /// The object's page (none for an erasure).
    pub(crate) object_href: Option<String>,
    /// (field, old, new); empty values as `—`.
    pub(crate) changes: Vec<(String, String, String)>,
    pub(crate) redacted: bool,
}

impl EntryRow {
    pub(crate) fn new(site: &Site, entry: &HistoryEntry) -> Self {
        let shown = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            when: when(entry.at),
            actor: entry.actor.to_string(),
            actor_href: format!(
                "{}?{}",
                site.url("history/"),
                query_string([("actor", entry.actor.to_string().as_str())])
            ),
            action: entry.action.as_str(),
            object: entry.object.to_string(),
            object_href: match entry.object {
                HistoryObject::Lead(id) => Some(site.url(&format!("leads/{id}/"))),
                HistoryObject::Subscriber(id) => Some(site.url(&format!("subscribers/{id}/"))),
                HistoryObject::Person => None,
            },
            changes: entry
                .changes
                .iter()
                .map(|c| (c.field.clone(), shown(&c.old), shown(&c.new)))
                .collect(),
            redacted: entry.redacted,
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    actor: String,
    object: String,
    entries: Vec<EntryRow>,
    count: u64,
    /// Field errors of the filters, by field.
    actor_errors: Vec<String>,
    object_errors: Vec<String>,
    filtered: bool,
    previous: Option<String>,
    next: Option<String>,
    page: u32,
    pages: u32,
}

/// `GET history/`.
#[handler]
pub(crate) async fn list(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff: Staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let pairs = super::list_pairs(req.uri().query(), &NAMES);
    let get = |name: &str| super::last(&pairs, name).unwrap_or_default();
    let mut params = pairs.clone();
    params.push(("page_size".into(), PAGE_SIZE.to_string()));
    let (status, entries, count, errors) = match site
        .exit3
        .list_history(&staff.ctx, &QueryParams::new(params))
        .await
    {
        Ok(p) => (StatusCode::OK, p.items, p.count, None),
        Err(Error::Validation(e)) => (StatusCode::BAD_REQUEST, Vec::new(), 0, Some(e)),
        Err(e) => return auth::failure(site, &staff, "history", &e),
    };
    let field_errors = |name: &str| {
        errors
            .as_ref()
            .and_then(|e| e.get(name))
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    };
    let page_number: u32 = get("page").parse().unwrap_or(1);
    let pages = u32::try_from(count.div_ceil(u64::from(PAGE_SIZE)))
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
            site.url("history/"),
            query_string(kept.iter().map(|(k, v)| (*k, v.as_str())))
        )
    };
    page(
        status,
        &HistoryPage {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "history"),
            actor: get("actor").to_owned(),
            object: get("object").to_owned(),
            entries: entries.iter().map(|e| EntryRow::new(site, e)).collect(),
            count,
            actor_errors: field_errors("actor"),
            object_errors: field_errors("object"),
            filtered: pairs.iter().any(|(k, _)| k != "page"),
            previous: (page_number > 1).then(|| to_page(page_number - 1)),
            next: (page_number < pages).then(|| to_page(page_number + 1)),
            page: page_number,
            pages,
        },
    )
}
