//! `leads/`: the list — filters, search, sortable columns, 100 a page — with the API's
//! query names, so that a URL can be shared.

use askama::Template;
use exit3_core::{Error, LeadStatus, QueryParams};
use poem::{Request, Response, handler, http::StatusCode, web::Data};
use time::Duration;

use super::{LeadRow, query_pairs, query_string};
use crate::{
    Site, auth,
    render::{Chrome, page},
};

/// The names the list passes on to the service (the API's).
pub(crate) const NAMES: [&str; 8] = [
    "status",
    "source",
    "category",
    "search",
    "ordering",
    "page",
    "quarantined",
    "created_after",
];

/// Rows a page.
const PAGE_SIZE: u32 = 100;

#[derive(Debug, Template)]
#[template(path = "leads.html")]
struct Leads {
    chrome: Chrome,
    search: String,
    selects: Vec<Select>,
    columns: Vec<Column>,
    rows: Vec<LeadRow>,
    count: u64,
    errors: Vec<String>,
    filtered: bool,
    page: u32,
    pages: u32,
    previous: Option<String>,
    next: Option<String>,
    /// The list's own query string, for the bulk form to come back to.
    query: String,
    notice: Option<String>,
    /// Whether the signed-in user may change leads (the bulk form is shown).
    can_edit: bool,
    /// Whether they may export them (not viewers).
    can_export: bool,
    statuses: Vec<&'static str>,
}

/// A filter's `<select>`.
#[derive(Debug)]
struct Select {
    name: &'static str,
    label: &'static str,
    /// (value, text, selected)
    options: Vec<(String, String, bool)>,
}

/// A sortable column's header.
#[derive(Debug)]
struct Column {
    label: &'static str,
    href: String,
    /// `ascending` / `descending` when the list is sorted by it.
    sort: Option<&'static str>,
}

fn select(
    name: &'static str,
    label: &'static str,
    any: &str,
    current: Option<&str>,
    values: impl IntoIterator<Item = (String, String)>,
) -> Select {
    let mut options = vec![(String::new(), any.to_owned(), current.is_none())];
    options.extend(values.into_iter().map(|(v, t)| {
        let on = current == Some(v.as_str());
        (v, t, on)
    }));
    Select {
        name,
        label,
        options,
    }
}

/// `GET leads/`.
#[handler]
pub(crate) async fn list(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let pairs = super::list_pairs(req.uri().query(), &NAMES);
    let get = |name: &str| super::last(&pairs, name);
    let mut params: Vec<(String, String)> = pairs.clone();
    params.push(("page_size".into(), PAGE_SIZE.to_string()));
    let listed = site
        .exit3
        .list_leads(&staff.ctx, &QueryParams::new(params))
        .await;
    let (status, rows, count, errors) = match listed {
        Ok(page) => (StatusCode::OK, page.items, page.count, Vec::new()),
        Err(Error::Validation(fields)) => {
            let errors = fields
                .iter()
                .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
                .collect();
            (StatusCode::BAD_REQUEST, Vec::new(), 0, errors)
        }
        Err(e) => return auth::failure(site, &staff, "leads", &e),
    };

    let link = |changes: &[(&str, Option<String>)]| {
        let mut kept: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .cloned()
            .collect();
        kept.extend(
            changes
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), v))),
        );
        let q = query_string(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if q.is_empty() {
            site.url("leads/")
        } else {
            format!("{}?{q}", site.url("leads/"))
        }
    };
    let policy = site.exit3.policy();
    let today = site.exit3.now().date();
    let periods = [7, 30, 90].map(|days| {
        (
            (today - Duration::days(days)).to_string(),
            format!("last {days} days"),
        )
    });
    let current_period = get("created_after");
    let mut period = select(
        "created_after",
        "Created",
        "any time",
        current_period,
        periods,
    );
    if let Some(other) = current_period
        && !period.options.iter().any(|o| o.2)
    {
        period
            .options
            .push((other.to_owned(), format!("since {other}"), true));
    }
    let selects = vec![
        select(
            "status",
            "Status",
            "any status",
            get("status"),
            LeadStatus::ALL
                .iter()
                .map(|s| (s.as_str().into(), s.as_str().into())),
        ),
        select(
            "source",
            "Source",
            "any source",
            get("source"),
            policy.sources().iter().map(|s| (s.clone(), s.clone())),
        ),
        select(
            "category",
            "Category",
            "any category",
            get("category"),
            policy.categories().iter().map(|s| (s.clone(), s.clone())),
        ),
        period,
        select(
            "quarantined",
            "Quarantine",
            "accepted only",
            get("quarantined"),
            [("true", "quarantined only"), ("all", "both")]
                .map(|(v, t)| (v.to_owned(), t.to_owned())),
        ),
    ];
    let ordering = get("ordering").unwrap_or("-created_at");
    let columns = [
        ("Lead", "full_name"),
        ("Status", "status"),
        ("Created", "created_at"),
    ]
    .map(|(label, field)| {
        let descending = format!("-{field}");
        let (sort, target) = if ordering == field {
            (Some("ascending"), descending)
        } else if ordering == descending {
            (Some("descending"), field.to_owned())
        } else {
            (
                None,
                if field == "created_at" {
                    descending
                } else {
                    field.to_owned()
                },
            )
        };
        Column {
            label,
            href: link(&[("ordering", Some(target)), ("page", None)]),
            sort,
        }
    })
    .into();
    let page_number: u32 = get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let pages = u32::try_from(count.div_ceil(u64::from(PAGE_SIZE)))
        .unwrap_or(u32::MAX)
        .max(1);
    let to_page = |n: u32| link(&[("page", (n > 1).then(|| n.to_string()))]);
    let filtered = pairs.iter().any(|(k, _)| k != "ordering" && k != "page");
    page(
        status,
        &Leads {
            chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "leads"),
            search: get("search").unwrap_or_default().to_owned(),
            selects,
            columns,
            rows: rows.iter().map(LeadRow::from).collect(),
            count,
            errors,
            filtered,
            page: page_number,
            pages,
            previous: (page_number > 1).then(|| to_page(page_number - 1)),
            next: (page_number < pages).then(|| to_page(page_number + 1)),
            query: query_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            notice: super::bulk::notice(
                query_pairs(req.uri().query())
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "done")
                    .map(|(_, v)| v.as_str()),
            ),
            can_edit: staff.user.role.allows(exit3_core::Operation::UpdateLead),
            can_export: staff.user.role.allows(exit3_core::Operation::ExportCsv),
            statuses: LeadStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
    )
}
