//! `leads/export.csv` and `subscribers/export.csv`: the list as shown (its filters,
//! search and ordering; every page), and the ticked leads of the bulk form, as the CSV
//! the API writes (privacy.md §3) — the core writes it, a batch at a time.

use exit3_core::{Error, QueryParams, export::CsvExport};
use poem::{Body, Request, Response, handler, web::Data};

use super::list_pairs;
use crate::{
    Site,
    auth::{self, Staff},
    render,
};

/// A download of `export`: streamed, never cached; a failure mid-way is logged and cuts
/// the connection ([`CsvExport::into_stream`]).
pub(crate) fn download(export: CsvExport) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", export.filename());
    Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header("content-disposition", disposition)
        .header("cache-control", "no-store")
        .body(Body::from_bytes_stream(export.into_stream(|e| {
            tracing::error!(error = %e, "staff site: CSV export cut off");
        })))
}

/// The answer to a made export: the download, back to the list (which shows why a filter
/// was refused), or the page of what went wrong.
fn answer(
    site: &Site,
    staff: &Staff,
    list: &str,
    query: Option<&str>,
    made: Result<CsvExport, Error>,
) -> Response {
    match made {
        Ok(export) => download(export),
        Err(Error::Validation(_)) => {
            let back = match query {
                Some(q) => format!("{}?{q}", site.url(list)),
                None => site.url(list),
            };
            render::see_other(&back)
        }
        Err(e) => auth::failure(site, staff, "leads", &e),
    }
}

/// `GET leads/export.csv`.
#[handler]
pub(crate) async fn leads(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let params = QueryParams::new(list_pairs(req.uri().query(), &super::leads::NAMES));
    let made = site.exit3.export_leads(&staff.ctx, &params).await;
    answer(site, &staff, "leads/", req.uri().query(), made)
}

/// `GET subscribers/export.csv`.
#[handler]
pub(crate) async fn subscribers(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let params = QueryParams::new(list_pairs(req.uri().query(), &super::subscribers::NAMES));
    let made = site.exit3.export_subscribers(&staff.ctx, &params).await;
    answer(site, &staff, "subscribers/", req.uri().query(), made)
}

/// The ticked leads of the bulk form (`ids`).
pub(crate) async fn chosen(site: &Site, staff: &Staff, ids: &[i64]) -> Response {
    let made = site.exit3.export_leads_by_id(&staff.ctx, ids).await;
    answer(site, staff, "leads/", None, made)
}
