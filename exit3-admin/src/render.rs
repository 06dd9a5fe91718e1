//! Pages as responses: HTML with the site's headers, redirects, and the pages of
//! errors (a refused CSRF token, a missing object, a store that cannot answer).

use askama::Template;
use exit3_core::{Error, StaffUser};
use poem::{Response, http::StatusCode};

use crate::Site;

/// admin.md: scripts, styles and images from the site only; no framing; forms post
/// back to it.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'";

/// What every page's frame shows: the site, who is signed in, the sign-out form.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) site: String,
    pub(crate) prefix: String,
    /// The signed-in user's name, and their CSRF token for the sign-out form.
    pub(crate) user: Option<(String, String)>,
    /// Which part of the navigation is current.
    pub(crate) section: &'static str,
    /// Whether the staff page is in the navigation.
    pub(crate) superuser: bool,
}

impl Chrome {
    /// The signed-in user's CSRF token (empty when signed out).
    pub(crate) fn csrf(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.1.as_str())
    }

    /// The frame of a signed-out page.
    pub(crate) fn signed_out(site: &Site) -> Self {
        Self {
            site: site.options.site_name.clone(),
            prefix: site.options.prefix.clone(),
            user: None,
            section: "",
            superuser: false,
        }
    }

    /// The frame of a page of `user`'s, in `section`.
    pub(crate) fn signed_in(
        site: &Site,
        user: &StaffUser,
        csrf: &str,
        section: &'static str,
    ) -> Self {
        Self {
            site: site.options.site_name.clone(),
            prefix: site.options.prefix.clone(),
            user: Some((user.username.to_string(), csrf.to_owned())),
            section,
            superuser: user.role == exit3_core::StaffRole::Superuser,
        }
    }
}

/// A rendered page with `status`, never cached (it shows personal data).
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .header("cache-control", "no-store")
            .header("content-security-policy", CONTENT_SECURITY_POLICY)
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "admin template failed");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .header("cache-control", "no-store")
                .body("A server error occurred.")
        }
    }
}

/// `303 See Other` to `location` (after a POST, or to the sign-in page).
pub(crate) fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .finish()
}

/// A page that says what went wrong, and nothing else.
#[derive(Debug, Template)]
#[template(path = "problem.html")]
pub(crate) struct Problem {
    pub(crate) chrome: Chrome,
    pub(crate) title: &'static str,
    pub(crate) text: &'static str,
}

/// The answer of a POST whose CSRF token is missing or not its session's.
pub(crate) fn csrf_refused(site: &Site) -> Response {
    page(
        StatusCode::FORBIDDEN,
        &Problem {
            chrome: Chrome::signed_out(site),
            title: "Forbidden (CSRF token missing or incorrect)",
            text: "The form was sent without its security token, or with one of another \
                   session. Go back, reload the page and send it again.",
        },
    )
}

/// The page of a core error: not found, not allowed, unavailable, or a failure.
pub(crate) fn failure(site: &Site, chrome: Option<Chrome>, error: &Error) -> Response {
    let chrome = chrome.unwrap_or_else(|| Chrome::signed_out(site));
    let (status, title, text) = match error {
        Error::NotFound | Error::InvalidPage => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here. It may have been deleted.",
        ),
        Error::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role does not allow this. Ask a superuser if you need it.",
        ),
        Error::Throttled { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Please wait a moment and try again.",
        ),
        Error::Unavailable { .. } => {
            tracing::warn!(error = %error, "admin: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a minute",
                "The database did not answer in time. Nothing was changed.",
            )
        }
        _ => {
            tracing::error!(error = ?error, "admin: server error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "This is a fault on our side; it has been logged.",
            )
        }
    };
    page(
        status,
        &Problem {
            chrome,
            title,
            text,
        },
    )
}

/// The page of a path the site does not have.
pub(crate) fn not_found(site: &Site) -> Response {
    failure(site, None, &Error::NotFound)
}
