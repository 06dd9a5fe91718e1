//! `login/` and `logout/`: the sign-in form (its CSRF token bound to a nonce cookie, as
//! there is no session yet), the throttled sign-in, the sign-out.

use askama::Template;
use exit3_core::{Credential, Error, messages, tokens::SessionToken};
use poem::{
    Body, Request, Response, handler,
    http::{StatusCode, header::SET_COOKIE},
    web::Data,
};

use crate::{
    Site,
    auth::{self, context, safe_next},
    cookie,
    form::{CSRF_FIELD, Form},
    render::{self, Chrome, page},
};

/// `?next=` of the query string.
fn next_param(query: Option<&str>) -> Option<String> {
    query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned())
    })
}

#[derive(Debug, Template)]
#[template(path = "login.html")]
struct Login {
    chrome: Chrome,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
}

/// The nonce the form's token is bound to: the visitor's, or a new one to set.
fn nonce(req: &Request) -> (String, Option<String>) {
    match cookie::get(req, cookie::LOGIN).filter(|n| SessionToken::hash_of(n).is_some()) {
        Some(n) => (n, None),
        None => {
            let fresh = SessionToken::generate().as_str().to_owned();
            (fresh.clone(), Some(fresh))
        }
    }
}

fn form_page(
    site: &Site,
    req: &Request,
    status: StatusCode,
    next: String,
    username: String,
    error: Option<String>,
) -> Response {
    let (nonce, new) = nonce(req);
    let login = Login {
        chrome: Chrome::signed_out(site),
        csrf: site.exit3.csrf_token(&nonce),
        next,
        username,
        error,
    };
    let mut resp = page(status, &login);
    if let Some(new) = new {
        let https = (site.options.client)(req).https;
        let value = cookie::set(cookie::LOGIN, &new, &site.options.prefix, https, None);
        if let Ok(v) = value.parse() {
            resp.headers_mut().append(SET_COOKIE, v);
        }
    }
    resp
}

/// `GET login/`: the form (or straight on, when already signed in).
#[handler]
pub(crate) async fn show(req: &Request, Data(site): Data<&Site>) -> Response {
    let next = next_param(req.uri().query());
    if let Some(token) = cookie::get(req, cookie::SESSION)
        && let Ok(Some(_)) = site.exit3.session_user(&token).await
    {
        return render::see_other(&safe_next(site, next.as_deref()));
    }
    let next = safe_next(site, next.as_deref());
    form_page(site, req, StatusCode::OK, next, String::new(), None)
}

/// `POST login/`: signs in and goes to `next`; a bad sign-in shows the form again with
/// Django's message (200), a throttled one with the wait (429).
#[handler]
pub(crate) async fn submit(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let Some(form) = read(body).await else {
        return render::csrf_refused(site);
    };
    let nonce = cookie::get(req, cookie::LOGIN).unwrap_or_default();
    if !site
        .exit3
        .check_csrf(&nonce, form.get(CSRF_FIELD).unwrap_or_default())
    {
        return render::csrf_refused(site);
    }
    let next = safe_next(site, form.get("next"));
    let username = form.get("username").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default();
    let ctx = context(site, req, Credential::Missing);
    match site.exit3.login(&ctx, &username, password).await {
        Ok(signed_in) => {
            let https = (site.options.client)(req).https;
            let prefix = &site.options.prefix;
            let mut resp = render::see_other(&next);
            for value in [
                cookie::set(
                    cookie::SESSION,
                    signed_in.token.as_str(),
                    prefix,
                    https,
                    None,
                ),
                cookie::clear(cookie::LOGIN, prefix, https),
            ] {
                if let Ok(v) = value.parse() {
                    resp.headers_mut().append(SET_COOKIE, v);
                }
            }
            resp
        }
        Err(Error::BadLogin) => form_page(
            site,
            req,
            StatusCode::OK,
            next,
            username,
            Some(messages::BAD_LOGIN.to_owned()),
        ),
        Err(Error::Throttled { retry_after, .. }) => {
            let text = messages::too_many_logins(retry_after.as_secs());
            let mut resp = form_page(
                site,
                req,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                username,
                Some(text),
            );
            if let Ok(v) = retry_after.as_secs().to_string().parse() {
                resp.headers_mut().insert("retry-after", v);
            }
            resp
        }
        Err(e) => render::failure(site, None, &e),
    }
}

/// `POST logout/`: ends the session (for every instance: it is gone from the store).
#[handler]
pub(crate) async fn logout(req: &Request, Data(site): Data<&Site>, body: Body) -> Response {
    let staff = match auth::posted(site, req, body).await {
        Ok((staff, _)) => staff,
        Err(resp) => return *resp,
    };
    if let Err(e) = site.exit3.logout(staff.token()).await {
        return auth::failure(site, &staff, "", &e);
    }
    let https = (site.options.client)(req).https;
    let mut resp = render::see_other(&site.url("login/"));
    if let Ok(v) = cookie::clear(cookie::SESSION, &site.options.prefix, https).parse() {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

/// A form body (bounded), or `None`.
pub(crate) async fn read(body: Body) -> Option<Form> {
    let bytes = body
        .into_bytes_limit(crate::form::MAX_FORM_BYTES)
        .await
        .ok()?;
    Form::parse(&bytes)
}
