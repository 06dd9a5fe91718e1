//! `/backend/newsletter/confirm/` and `/backend/newsletter/unsubscribe/`.

use std::{sync::Arc, time::Duration};

use exit3_core::{Error, Exit3, domain::UnsubscribeMethod, messages, tokens::ConfirmationToken};
use poem::{
    Body, EndpointExt, FromRequest, IntoEndpoint, Request, Response, Route, get, handler,
    http::StatusCode, web::Data,
};

use super::{Form, Page, failure, respond};
use crate::extract::{Client, MAX_BODY};

/// What the pages need.
#[derive(Debug)]
struct PageState {
    exit3: Exit3,
    site: String,
}

/// How long reading a page's form may take.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// `routes` with both pages (registered without the trailing slash, as every route).
pub fn mount(routes: Route, exit3: Exit3, site: String) -> Route {
    let state = Arc::new(PageState { exit3, site });
    routes
        .at(
            "/backend/newsletter/confirm",
            get(show_confirm)
                .post(confirm)
                .data(Arc::clone(&state))
                .into_endpoint(),
        )
        .at(
            "/backend/newsletter/unsubscribe",
            get(show_unsubscribe)
                .post(unsubscribe)
                .data(state)
                .into_endpoint(),
        )
}

/// The `token` of the query string, if any.
fn query_token(req: &Request) -> Option<String> {
    form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The body, read within the limits of every body (or empty when it cannot be read: a
/// page's form has nothing that matters beyond its token).
async fn read_body(body: Body) -> Vec<u8> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, body.into_bytes_limit(MAX_BODY)).await {
        Ok(Ok(bytes)) => bytes.to_vec(),
        _ => Vec::new(),
    }
}

fn invalid_confirmation(site: &str) -> Response {
    respond(
        StatusCode::BAD_REQUEST,
        &Page {
            site,
            title: messages::LINK_INVALID_OR_EXPIRED,
            paragraphs: &[
                "The link may have been used already, or it is older than the time it was \
                 valid for.",
                "To get a new one, subscribe again with the form on our website.",
            ],
            form: None,
            problem: true,
        },
    )
}

fn invalid_unsubscribe(site: &str) -> Response {
    respond(
        StatusCode::BAD_REQUEST,
        &Page {
            site,
            title: messages::LINK_INVALID,
            paragraphs: &[
                "Please use the unsubscribe link of one of our mails as it is, or reply to \
                 the mail and ask us to remove you.",
            ],
            form: None,
            problem: true,
        },
    )
}

/// GET: a form that posts the token back. Nothing changes (mail scanners follow links).
#[handler]
async fn show_confirm(req: &Request, state: Data<&Arc<PageState>>) -> Response {
    let site = &state.site;
    let Some(token) = query_token(req).filter(|t| ConfirmationToken::hash_of(t).is_some()) else {
        return invalid_confirmation(site);
    };
    respond(
        StatusCode::OK,
        &Page {
            site,
            title: "Confirm your subscription",
            paragraphs: &["Press the button to confirm that you want to receive our newsletter."],
            form: Some(Form {
                token: Some(&token),
                button: "Confirm my subscription",
            }),
            problem: false,
        },
    )
}

/// POST: confirms with the form's token (or the query's).
#[handler]
async fn confirm(req: &Request, body: Body, state: Data<&Arc<PageState>>) -> Response {
    let site = &state.site;
    let bytes = read_body(body).await;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .or_else(|| query_token(req))
        .unwrap_or_default();
    let origin = match Client::from_request_without_body(req).await {
        Ok(client) => client.origin,
        Err(_) => exit3_core::Origin::default(),
    };
    match state.exit3.confirm_link(&token, &origin).await {
        Ok(done) => {
            let text = format!(
                "Thank you for confirming: the newsletter will come to {}.",
                done.subscriber.email
            );
            respond(
                StatusCode::OK,
                &Page {
                    site,
                    title: messages::SUBSCRIBED_PAGE,
                    paragraphs: &[&text],
                    form: None,
                    problem: false,
                },
            )
        }
        Err(Error::Validation(_)) => invalid_confirmation(site),
        Err(e) => failure(site, &e),
    }
}

/// GET: a button that posts back to the same URL. Nothing changes.
#[handler]
async fn show_unsubscribe(req: &Request, state: Data<&Arc<PageState>>) -> Response {
    let site = &state.site;
    let token = query_token(req).unwrap_or_default();
    if state.exit3.check_unsubscribe_link(&token).is_err() {
        return invalid_unsubscribe(site);
    }
    respond(
        StatusCode::OK,
        &Page {
            site,
            title: "Unsubscribe",
            paragraphs: &["Press the button and we will send you no more newsletters."],
            form: Some(Form {
                token: None,
                button: "Unsubscribe",
            }),
            problem: false,
        },
    )
}

/// Whether a body is RFC 8058's `List-Unsubscribe=One-Click`, form-urlencoded or
/// multipart (a mail client's button, not our page's).
fn is_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("List-Unsubscribe") && text.contains("One-Click")
}

/// POST: unsubscribes the link's subscriber; any body, no cookie, never a redirect, the
/// same answer however often.
#[handler]
async fn unsubscribe(req: &Request, body: Body, state: Data<&Arc<PageState>>) -> Response {
    let site = &state.site;
    let method = if is_one_click(&read_body(body).await) {
        UnsubscribeMethod::OneClick
    } else {
        UnsubscribeMethod::Link
    };
    let token = query_token(req).unwrap_or_default();
    match state.exit3.unsubscribe_link(&token, method).await {
        Ok(()) => respond(
            StatusCode::OK,
            &Page {
                site,
                title: messages::UNSUBSCRIBED_PAGE,
                paragraphs: &[
                    "You will get no more newsletters from us.",
                    "If this was a mistake, subscribe again with the form on our website.",
                ],
                form: None,
                problem: false,
            },
        ),
        Err(Error::Validation(_)) => invalid_unsubscribe(site),
        Err(e) => failure(site, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_are_recognised_in_both_encodings() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert!(is_one_click(multipart));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"token=abc"));
    }
}
