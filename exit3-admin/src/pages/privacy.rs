//! `privacy/` (superusers): one person's data (privacy.md §1) — the export as the API's
//! JSON document, and the erasure after a page that says what it will remove. The
//! address travels in the form's body, never in a URL (which logs keep).

use askama::Template;
use exit3_core::{Error, Payload, privacy::export_json};
use poem::{Body, Request, Response, handler, http::StatusCode, web::Data};

use crate::{
    Site,
    auth::{self, Staff},
    render::{Chrome, page},
};

#[derive(Debug, Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
    email: String,
    errors: Vec<String>,
    /// What an erasure would remove (the confirmation step).
    found: Option<Found>,
    /// What an erasure removed.
    erased: Option<(u64, u64, u64)>,
}

#[derive(Debug)]
struct Found {
    leads: usize,
    subscriber: bool,
    deliveries: usize,
    history: usize,
}

fn blank(site: &Site, staff: &Staff) -> PrivacyPage {
    PrivacyPage {
        chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "privacy"),
        email: String::new(),
        errors: Vec::new(),
        found: None,
        erased: None,
    }
}

/// `GET privacy/`.
#[handler]
pub(crate) async fn show(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    // Only superusers come further than this page's form; others learn it here.
    if !staff.user.role.allows(exit3_core::Operation::ErasePerson) {
        return auth::failure(
            site,
            &staff,
            "privacy",
            &Error::Forbidden(exit3_core::Denial::PermissionDenied),
        );
    }
    page(StatusCode::OK, &blank(site, &staff))
}

/// `POST privacy/`: `action` = `export` (the JSON file), `erase` (what it would remove,
/// and the button), or `erase` with `confirm=yes` (done).
#[handler]
pub(crate) async fn act(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let email = form.get("email").unwrap_or_default().to_owned();
    let payload = Payload::from_pairs([("email", email.clone())]);
    let refused = |e: Error| match e {
        Error::Validation(errors) => page(
            StatusCode::BAD_REQUEST,
            &PrivacyPage {
                email: email.clone(),
                errors: errors
                    .get("email")
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
                ..blank(site, &staff)
            },
        ),
        e => auth::failure(site, &staff, "privacy", &e),
    };
    match (form.get("action"), form.get("confirm")) {
        (Some("export"), _) => match site.exit3.export_person(&staff.ctx, &payload).await {
            Ok((person, data)) => {
                let body = export_json(&person, &data).to_string();
                Response::builder()
                    .content_type("application/json")
                    .header(
                        "content-disposition",
                        "attachment; filename=\"exit3-export.json\"",
                    )
                    .header("cache-control", "no-store")
                    .body(body)
            }
            Err(e) => refused(e),
        },
        (Some("erase"), Some("yes")) => match site.exit3.erase_person(&staff.ctx, &payload).await {
            Ok(erased) => page(
                StatusCode::OK,
                &PrivacyPage {
                    erased: Some((erased.leads, erased.subscribers, erased.deliveries)),
                    ..blank(site, &staff)
                },
            ),
            Err(e) => refused(e),
        },
        (Some("erase"), _) => match site.exit3.export_person(&staff.ctx, &payload).await {
            Ok((person, data)) => page(
                StatusCode::OK,
                &PrivacyPage {
                    email: person.email().to_owned(),
                    found: Some(Found {
                        leads: data.leads.len(),
                        subscriber: data.subscriber.is_some(),
                        deliveries: data.deliveries.len(),
                        history: data.history.len(),
                    }),
                    ..blank(site, &staff)
                },
            ),
            Err(e) => refused(e),
        },
        _ => page(StatusCode::OK, &blank(site, &staff)),
    }
}
