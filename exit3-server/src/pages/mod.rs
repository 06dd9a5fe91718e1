//! The HTML pages a person reaches from a mail (consent.md §4 and §5): confirm a
//! subscription, unsubscribe. A GET only shows (mail scanners follow links); a POST acts.
//! They need no key and set no cookie: the token in the link is the proof.

mod newsletter;

use askama::Template;
use poem::{Response, http::StatusCode};

use crate::errors::chain;

pub use self::newsletter::mount;

/// The policy of every page: its own inline style, forms posting back to the server,
/// nothing else (no script, no framing, no other origin).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One page: a heading, a few paragraphs, maybe a form of one button.
#[derive(Debug, Template)]
#[template(path = "page.html")]
struct Page<'a> {
    site: &'a str,
    title: &'a str,
    paragraphs: &'a [&'a str],
    form: Option<Form<'a>>,
    /// Styles the heading as a problem.
    problem: bool,
}

/// A form that posts back to the page's own URL (so that it works wherever the API is
/// mounted), with the token as a hidden field if given.
#[derive(Debug)]
struct Form<'a> {
    token: Option<&'a str>,
    button: &'a str,
}

/// The response of a rendered page: HTML, never cached (it is about one person).
fn respond(status: StatusCode, page: &Page<'_>) -> Response {
    match page.render() {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("cache-control", "no-store")
            .header("content-security-policy", CONTENT_SECURITY_POLICY)
            .body(html),
        Err(e) => {
            tracing::error!(error = %chain(&e).join(": "), "page template failed");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .header("cache-control", "no-store")
                .body("A server error occurred.")
        }
    }
}

/// The page of a core error that is not about the link: the store could not answer
/// (503, try again) or something unexpected (500).
fn failure(site: &str, error: &exit3_core::Error) -> Response {
    let (status, text) = match error {
        exit3_core::Error::Unavailable { .. } => {
            tracing::warn!(error = %chain(error).join(": "), "store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not do this just now. Please try the link again in a minute.",
            )
        }
        _ => {
            tracing::error!(error = %chain(error).join(": "), "server error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try the link again later.",
            )
        }
    };
    let mut resp = respond(
        status,
        &Page {
            site,
            title: "Sorry",
            paragraphs: &[text],
            form: None,
            problem: true,
        },
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            "retry-after",
            poem::http::HeaderValue::from(crate::errors::UNAVAILABLE_RETRY_AFTER),
        );
    }
    resp
}
