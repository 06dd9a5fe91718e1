//! `staff/` (superusers): the staff users — add one, change a role, deactivate or
//! reactivate, set a new password. The rules (who may, the password rule, a superuser
//! keeping their own role) are the core's.

use askama::Template;
use exit3_core::{Error, FieldErrors, StaffId, StaffInput, StaffPatch, StaffRole};
use poem::{Body, Request, Response, handler, http::StatusCode, web::Data};

use super::when;
use crate::{
    Site,
    auth::{self, Staff},
    render::{self, Chrome, page},
};

#[derive(Debug, Template)]
#[template(path = "staff.html")]
struct StaffPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    /// The add form as typed, after a refused add.
    typed: Typed,
    errors: Vec<(String, String)>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Typed {
    username: String,
    email: String,
    role: String,
}

#[derive(Debug)]
struct UserRow {
    id: i64,
    username: String,
    email: String,
    role: &'static str,
    active: bool,
    last_login: String,
    is_me: bool,
}

async fn render_list(
    site: &Site,
    staff: &Staff,
    status: StatusCode,
    typed: Typed,
    errors: Vec<(String, String)>,
    notice: Option<&'static str>,
) -> Response {
    match site.exit3.list_staff(&staff.ctx).await {
        Ok(users) => page(
            status,
            &StaffPage {
                chrome: Chrome::signed_in(site, &staff.user, &staff.csrf, "staff"),
                users: users
                    .iter()
                    .map(|u| UserRow {
                        id: u.id.get(),
                        username: u.username.to_string(),
                        email: u.email.as_str().to_owned(),
                        role: u.role.as_str(),
                        active: u.active,
                        last_login: u.last_login.map(when).unwrap_or_default(),
                        is_me: u.id == staff.user.id,
                    })
                    .collect(),
                roles: StaffRole::ALL.iter().map(|r| r.as_str()).collect(),
                typed,
                errors,
                notice,
            },
        ),
        Err(e) => auth::failure(site, staff, "staff", &e),
    }
}

fn field_errors(errors: &FieldErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .flat_map(|(f, ms)| ms.iter().map(move |m| (f.to_owned(), m.clone())))
        .collect()
}

/// `GET staff/`.
#[handler]
pub(crate) async fn list(req: &Request, Data(site): Data<&Site>) -> Response {
    let staff = match auth::signed_in(site, req).await {
        Ok(staff) => staff,
        Err(resp) => return resp,
    };
    let notice = match req.uri().query() {
        Some("done=added") => Some("Staff user added."),
        Some("done=changed") => Some("Staff user changed."),
        _ => None,
    };
    render_list(
        site,
        &staff,
        StatusCode::OK,
        Typed::default(),
        Vec::new(),
        notice,
    )
    .await
}

/// `POST staff/`: adds a user; a refused add shows the form again with the messages.
#[handler]
pub(crate) async fn add(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let typed = Typed {
        username: form.get("username").unwrap_or_default().to_owned(),
        email: form.get("email").unwrap_or_default().to_owned(),
        role: form.get("role").unwrap_or_default().to_owned(),
    };
    let role = match typed.role.parse::<StaffRole>() {
        Ok(role) => role,
        Err(e) => {
            let errors = field_errors(&e);
            return render_list(site, &staff, StatusCode::BAD_REQUEST, typed, errors, None).await;
        }
    };
    let input = StaffInput {
        username: &typed.username,
        email: &typed.email,
        role,
        password: form.get("password").unwrap_or_default(),
    };
    match site.exit3.add_staff_as(&staff.ctx, input).await {
        Ok(_) => render::see_other(&site.url("staff/?done=added")),
        Err(Error::Validation(e)) => {
            let errors = field_errors(&e);
            render_list(site, &staff, StatusCode::BAD_REQUEST, typed, errors, None).await
        }
        Err(e) => auth::failure(site, &staff, "staff", &e),
    }
}

/// `POST staff/{id}/`: one change — `role`, `active` (`true`/`false`) or `password`.
#[handler]
pub(crate) async fn change(
    req: &Request,
    Data(site): Data<&Site>,
    poem::web::Path(raw): poem::web::Path<String>,
    body: Body,
) -> Response {
    let (staff, form) = match auth::posted(site, req, body).await {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let Some(id) = raw.parse::<i64>().ok().and_then(StaffId::new) else {
        return auth::failure(site, &staff, "staff", &Error::NotFound);
    };
    let mut patch = StaffPatch::default();
    if let Some(role) = form.get("role") {
        match role.parse::<StaffRole>() {
            Ok(role) => patch.role = Some(role),
            Err(e) => return refused(site, &staff, &e).await,
        }
    }
    if let Some(active) = form.get("active") {
        patch.active = Some(active == "true");
    }
    if let Some(password) = form.get("password") {
        return match site
            .exit3
            .set_staff_password_as(&staff.ctx, id, password)
            .await
        {
            Ok(_) => render::see_other(&site.url("staff/?done=changed")),
            Err(Error::Validation(e)) => refused(site, &staff, &e).await,
            Err(e) => auth::failure(site, &staff, "staff", &e),
        };
    }
    match site.exit3.update_staff_as(&staff.ctx, id, patch).await {
        Ok(_) => render::see_other(&site.url("staff/?done=changed")),
        Err(Error::Validation(e)) => refused(site, &staff, &e).await,
        Err(e) => auth::failure(site, &staff, "staff", &e),
    }
}

async fn refused(site: &Site, staff: &Staff, errors: &FieldErrors) -> Response {
    let errors = field_errors(errors);
    render_list(
        site,
        staff,
        StatusCode::BAD_REQUEST,
        Typed::default(),
        errors,
        None,
    )
    .await
}
