//! `leads/bulk/`: an action on the ticked leads, or on all leads matching the list's
//! filters — set a status, or delete after a confirmation page that lists what goes (and
//! deletes exactly what it listed).

use askama::Template;
use exit3_core::{Error, LeadStatus, Payload, QueryParams};
use poem::{Body, Request, Response, handler, http::StatusCode, web::Data};

use super::{LeadRow, leads::NAMES, query_pairs, query_string};
use crate::{
    Site,
    auth::{self, Staff},
    render::{self, Chrome, page},
};

/// The most leads one action takes ("all matching" beyond it is refused, so that nothing
/// half-done hides behind one click).
pub(crate) const MAX_BULK: usize = 5_000;

#[derive(Debug, Template)]
#[template(path = "confirm_bulk_delete.html")]
struct ConfirmBulkDelete {
    chrome: Chrome,
    rows: Vec<LeadRow>,
    query: String,
}

/// What the form asked for.
enum Action {
    Status(LeadStatus),
    Delete,
}

/// The leads the action is for: the ticked ids, or every lead matching `query`.
async fn targets(
    site: &Site,
    staff: &Staff,
    form: &crate::form::Form,
) -> Result<Vec<LeadRow>, Error> {
    let query = form.get("query").unwrap_or_default();
    if form.get("scope") == Some("all") {
        let mut pairs: Vec<(String, String)> = query_pairs(Some(query))
            .into_iter()
            .filter(|(k, _)| NAMES.contains(&k.as_str()) && k != "page")
            .collect();
        pairs.push(("page_size".into(), "100".into()));
        let mut rows = Vec::new();
        for page_number in 1.. {
            let mut params = pairs.clone();
            params.push(("page".into(), page_number.to_string()));
            let page = site
                .exit3
                .list_leads(&staff.ctx, &QueryParams::new(params))
                .await?;
            if usize::try_from(page.count).unwrap_or(usize::MAX) > MAX_BULK {
                return Err(Error::Validation(exit3_core::FieldErrors::single(
                    "scope",
                    format!("At most {MAX_BULK} leads at once; narrow the filters."),
                )));
            }
            rows.extend(page.items.iter().map(LeadRow::from));
            if !page.has_next() {
                break;
            }
        }
        return Ok(rows);
    }
    let mut rows = Vec::new();
    for id in form.all("ids").filter_map(|id| id.parse::<i64>().ok()) {
        match site.exit3.get_lead(&staff.ctx, id).await {
            Ok(lead) => rows.push(LeadRow::from(&lead)),
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(rows)
}

/// Back to the list it came from, saying what was done.
fn back(site: &Site, query: &str, done: &str) -> Response {
    let mut pairs: Vec<(String, String)> = query_pairs(Some(query))
        .into_iter()
        .filter(|(k, _)| NAMES.contains(&k.as_str()))
        .collect();
    pairs.push(("done".into(), done.to_owned()));
    let q = query_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    render::see_other(&format!("{}?{q}", site.url("leads/")))
}

/// `POST leads/bulk/`.
#[handler]
pub(crate) async fn apply(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let query = form.get("query").unwrap_or_default().to_owned();
    if form.get("action") == Some("export") {
        // A download, not a change: every match (streamed, no cap), or the ticked ones.
        if form.get("scope") == Some("all") {
            let pairs: Vec<(String, String)> = query_pairs(Some(&query))
                .into_iter()
                .filter(|(k, _)| NAMES.contains(&k.as_str()))
                .collect();
            let made = site
                .exit3
                .export_leads(&staff.ctx, &QueryParams::new(pairs))
                .await;
            return match made {
                Ok(export) => super::export::download(export),
                Err(e) => auth::failure(site, &staff, "leads", &e),
            };
        }
        let ids: Vec<i64> = form.all("ids").filter_map(|id| id.parse().ok()).collect();
        if ids.is_empty() {
            return back(site, &query, "none");
        }
        return super::export::chosen(site, &staff, &ids).await;
    }
    let action = match form.get("action").unwrap_or_default() {
        "delete" => Action::Delete,
        other => match other.strip_prefix("status:").and_then(LeadStatus::parse) {
            Some(status) => Action::Status(status),
            None => return back(site, &query, "none"),
        },
    };
    let rows = match targets(site, &staff, &form).await {
        Ok(rows) if rows.is_empty() => return back(site, &query, "none"),
        Ok(rows) => rows,
        Err(e @ Error::Validation(_)) => {
            tracing::info!(error = %e, "admin: bulk action refused");
            return back(site, &query, "too-many");
        }
        Err(e) => return auth::failure(site, &staff, "leads", &e),
    };
    match action {
        Action::Status(status) => {
            let change = Payload::empty().with("status", status.as_str());
            for row in &rows {
                match site.exit3.patch_lead(&staff.ctx, row.id, &change).await {
                    Ok(_) | Err(Error::NotFound) => {}
                    Err(e) => return auth::failure(site, &staff, "leads", &e),
                }
            }
            back(site, &query, &format!("status-{}", rows.len()))
        }
        Action::Delete if form.get("confirm") == Some("yes") => {
            for row in &rows {
                match site.exit3.delete_lead(&staff.ctx, row.id).await {
                    Ok(()) | Err(Error::NotFound) => {}
                    Err(e) => return auth::failure(site, &staff, "leads", &e),
                }
            }
            back(site, &query, &format!("deleted-{}", rows.len()))
        }
        Action::Delete => page(
            StatusCode::OK,
            &ConfirmBulkDelete {
                chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "leads"),
                rows,
                query,
            },
        ),
    }
}

/// The notice of `?done=` after a bulk action.
pub(crate) fn notice(done: Option<&str>) -> Option<String> {
    let done = done?;
    let count = |prefix: &str| {
        done.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    let leads = |n: usize| {
        if n == 1 {
            "1 lead".to_owned()
        } else {
            format!("{n} leads")
        }
    };
    if let Some(n) = count("status-") {
        Some(format!("Status changed on {}.", leads(n)))
    } else if let Some(n) = count("deleted-") {
        Some(format!("{} deleted.", leads(n)))
    } else if done == "too-many" {
        Some(format!(
            "Nothing was changed: at most {MAX_BULK} leads at once; narrow the filters."
        ))
    } else if done == "none" {
        Some("Nothing was changed: tick some leads and choose an action.".to_owned())
    } else {
        None
    }
}
