//! `leads/{id}/`: every field and the client info; the edit form with the API's
//! validation messages next to their fields; status buttons; the internal notes; the
//! lead's history; delete with confirmation.

use askama::Template;
use exit3_core::{Error, FieldErrors, Lead, LeadStatus, Payload, QueryParams};
use poem::{
    Body, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path},
};

use super::{history::EntryRow, when};
use crate::{
    Site,
    auth::{self, Staff},
    render::{self, Chrome, page},
};

/// The fields of the edit form, in order, with their labels.
const FIELDS: [(&str, &str); 6] = [
    ("full_name", "Full name"),
    ("position", "Position"),
    ("company_name", "Company"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("message", "Message"),
];

/// One field of the form: what it holds (as typed, after a refused save) and its errors.
#[derive(Debug)]
struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    errors: Vec<String>,
    multiline: bool,
    required: bool,
}

/// A choice field of the form.
#[derive(Debug)]
struct Choice {
    name: &'static str,
    label: &'static str,
    /// (value, selected)
    options: Vec<(String, bool)>,
    errors: Vec<String>,
}

#[derive(Debug, Template)]
#[template(path = "lead.html")]
struct LeadPage {
    chrome: Chrome,
    id: i64,
    title: String,
    status: &'static str,
    /// The statuses the buttons move to (all but the current one).
    moves: Vec<&'static str>,
    fields: Vec<Field>,
    choices: Vec<Choice>,
    facts: Vec<(&'static str, String)>,
    quarantine: Option<String>,
    notes: Field,
    /// The newest entries of the lead's history.
    entries: Vec<EntryRow>,
    /// How many there are in all.
    history_count: u64,
    notice: Option<&'static str>,
    invalid: bool,
    can_edit: bool,
}

/// How many history entries the lead's page shows (the history page has the rest).
const HISTORY_SHOWN: u32 = 20;

#[derive(Debug, Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDelete {
    chrome: Chrome,
    id: i64,
    title: String,
    email: String,
    created: String,
}

/// The id of the path, or the 404 every tampered id gets.
fn id_of(site: &Site, staff: &Staff, raw: &str) -> Result<i64, Box<Response>> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Box::new(auth::failure(site, staff, "leads", &Error::NotFound)))
}

fn text(value: Option<&String>) -> String {
    value.cloned().unwrap_or_default()
}

/// The lead's page; `typed`: a refused form's values and messages, shown instead of
/// the stored values of the fields it sent.
async fn lead_page(
    site: &Site,
    staff: &Staff,
    lead: &Lead,
    typed: Option<(&Payload, &FieldErrors)>,
    notice: Option<&'static str>,
) -> Result<LeadPage, Error> {
    let history = site
        .exit3
        .lead_history(
            &staff.ctx,
            lead.id.get(),
            &QueryParams::new([("page_size", HISTORY_SHOWN.to_string())]),
        )
        .await?;
    let stored = |name: &str| -> String {
        match name {
            "full_name" => lead.full_name.clone(),
            "position" => lead.position.clone(),
            "company_name" => text(lead.company_name.as_ref()),
            "email" => text(lead.email.as_ref()),
            "phone" => text(lead.phone.as_ref()),
            "message" => text(lead.message.as_ref()),
            "status" => lead.status.as_str().to_owned(),
            "source" => lead.source.clone(),
            "category" => lead.category.clone(),
            "notes" => lead.notes.clone(),
            _ => String::new(),
        }
    };
    let value = |name: &str| {
        typed
            .and_then(|(payload, _)| payload.text(name))
            .unwrap_or_else(|| stored(name))
    };
    let errors = |name: &str| -> Vec<String> {
        typed
            .and_then(|(_, e)| e.get(name))
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    };
    let fields = FIELDS
        .iter()
        .map(|(name, label)| Field {
            name,
            label,
            value: value(name),
            errors: errors(name),
            multiline: *name == "message",
            required: matches!(*name, "full_name" | "position"),
        })
        .collect();
    let policy = site.exit3.policy();
    let choice = |name: &'static str, label: &'static str, values: Vec<String>| {
        let current = value(name);
        Choice {
            name,
            label,
            options: values
                .into_iter()
                .map(|v| {
                    let on = v == current;
                    (v, on)
                })
                .collect(),
            errors: errors(name),
        }
    };
    let choices = vec![
        choice(
            "status",
            "Status",
            LeadStatus::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        ),
        choice("source", "Source", policy.sources().to_vec()),
        choice("category", "Category", policy.categories().to_vec()),
    ];
    let info = lead.client_info.clone().unwrap_or_default();
    let facts = vec![
        ("Created", when(lead.created_at)),
        ("Updated", when(lead.updated_at)),
        (
            "IP address",
            info.ip_address.map(|ip| ip.to_string()).unwrap_or_default(),
        ),
        ("User agent", text(info.user_agent.as_ref())),
        ("Referrer", text(info.referrer.as_ref())),
        ("utm_source", text(info.utm_source.as_ref())),
        ("utm_medium", text(info.utm_medium.as_ref())),
        ("utm_campaign", text(info.utm_campaign.as_ref())),
    ];
    let can_edit = staff.user.role.allows(exit3_core::Operation::UpdateLead);
    Ok(LeadPage {
        chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "leads"),
        id: lead.id.get(),
        title: lead.to_string(),
        status: lead.status.as_str(),
        moves: LeadStatus::ALL
            .iter()
            .filter(|s| **s != lead.status)
            .map(|s| s.as_str())
            .collect(),
        fields,
        choices,
        facts,
        quarantine: lead.quarantine.as_ref().map(|q| {
            q.reasons
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }),
        notes: Field {
            name: "notes",
            label: "Notes",
            value: value("notes"),
            errors: errors("notes"),
            multiline: true,
            required: false,
        },
        entries: history
            .items
            .iter()
            .map(|e| EntryRow::new(site, e))
            .collect(),
        history_count: history.count,
        notice,
        invalid: typed.is_some(),
        can_edit,
    })
}

/// The lead's page, or the page of what went wrong instead.
async fn respond(
    site: &Site,
    staff: &Staff,
    status: StatusCode,
    lead: &Lead,
    typed: Option<(&Payload, &FieldErrors)>,
    notice: Option<&'static str>,
) -> Response {
    match lead_page(site, staff, lead, typed, notice).await {
        Ok(p) => page(status, &p),
        Err(e) => auth::failure(site, staff, "leads", &e),
    }
}

/// `?saved`, `?status` after a redirect: what to confirm.
fn notice_of(req: &Request) -> Option<&'static str> {
    match req.uri().query() {
        Some("saved=1") => Some("Saved."),
        Some("status=1") => Some("Status changed."),
        Some("notes=1") => Some("Notes saved."),
        _ => None,
    }
}

/// `GET leads/{id}/`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
) -> Response {
    match load(req, site, &raw).await {
        Ok((staff, lead)) => {
            respond(site, &staff, StatusCode::OK, &lead, None, notice_of(req)).await
        }
        Err(resp) => *resp,
    }
}

/// The signed-in staff and the lead of the path, or the page to answer instead.
async fn load(req: &Request, site: &Site, raw: &str) -> Result<(Staff, Lead), Box<Response>> {
    let staff = auth::signed_in(site, req).await.map_err(Box::new)?;
    let id = id_of(site, &staff, raw)?;
    match site.exit3.get_lead(&staff.ctx, id).await {
        Ok(lead) => Ok((staff, lead)),
        Err(e) => Err(Box::new(auth::failure(site, &staff, "leads", &e))),
    }
}

/// The signed-in staff, the id and the CSRF-checked form of a POST on a lead.
async fn posted(
    req: &Request,
    site: &Site,
    raw: &str,
    body: Body,
) -> Result<(Staff, i64, crate::form::Form), Box<Response>> {
    let (staff, form) = auth::posted(site, req, body).await?;
    let id = id_of(site, &staff, raw)?;
    Ok((staff, id, form))
}

/// `POST leads/{id}/`: saves the form (a full update, as `PUT`); a refused one shows
/// the form again with what was typed and the messages (400).
#[handler]
pub(crate) async fn save(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let (staff, id, form) = match posted(req, site, &raw, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let names: Vec<&str> = FIELDS
        .iter()
        .map(|(n, _)| *n)
        .chain(["status", "source", "category"])
        .collect();
    let payload = form.payload(&names);
    let saved = site.exit3.put_lead(&staff.ctx, id, &payload).await;
    after_save(site, &staff, id, &payload, saved, "saved=1").await
}

/// The answer to a save: back to the lead with `notice`, or its page with the refused
/// values and their messages (400).
async fn after_save(
    site: &Site,
    staff: &Staff,
    id: i64,
    payload: &Payload,
    saved: Result<Lead, Error>,
    notice: &str,
) -> Response {
    match saved {
        Ok(_) => render::see_other(&site.url(&format!("leads/{id}/?{notice}"))),
        Err(Error::Validation(errors)) => match site.exit3.get_lead(&staff.ctx, id).await {
            Ok(lead) => {
                let typed = Some((payload, &errors));
                respond(site, staff, StatusCode::BAD_REQUEST, &lead, typed, None).await
            }
            Err(e) => auth::failure(site, staff, "leads", &e),
        },
        Err(e) => auth::failure(site, staff, "leads", &e),
    }
}

/// `POST leads/{id}/notes/`: saves the internal notes alone (as `PATCH {"notes"}`).
#[handler]
pub(crate) async fn save_notes(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let (staff, id, form) = match posted(req, site, &raw, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    // An empty textarea clears the notes: always send the field.
    let notes = form.get("notes").unwrap_or_default().to_owned();
    let payload = Payload::from_pairs([("notes", notes)]);
    let saved = site.exit3.patch_lead(&staff.ctx, id, &payload).await;
    after_save(site, &staff, id, &payload, saved, "notes=1").await
}

/// `POST leads/{id}/status/`: one click to the next status.
#[handler]
pub(crate) async fn set_status(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let (staff, id, form) = match posted(req, site, &raw, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let payload = form.payload(&["status"]);
    match site.exit3.patch_lead(&staff.ctx, id, &payload).await {
        Ok(_) => render::see_other(&site.url(&format!("leads/{id}/?status=1"))),
        Err(e) => auth::failure(site, &staff, "leads", &e),
    }
}

/// `GET leads/{id}/delete/`: what will go, and the button.
#[handler]
pub(crate) async fn confirm_delete(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
) -> Response {
    match load(req, site, &raw).await {
        Ok((staff, lead)) => page(
            StatusCode::OK,
            &ConfirmDelete {
                chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "leads"),
                id: lead.id.get(),
                title: lead.to_string(),
                email: text(lead.email.as_ref()),
                created: when(lead.created_at),
            },
        ),
        Err(resp) => *resp,
    }
}

/// `POST leads/{id}/delete/`.
#[handler]
pub(crate) async fn delete(
    req: &Request,
    Data(site): Data<&Site>,
    Path(raw): Path<String>,
    body: Body,
) -> Response {
    let (staff, id, _) = match posted(req, site, &raw, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    match site.exit3.delete_lead(&staff.ctx, id).await {
        Ok(()) => render::see_other(&site.url("leads/?deleted=1")),
        Err(e) => auth::failure(site, &staff, "leads", &e),
    }
}
