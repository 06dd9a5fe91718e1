//! Who is signed in: the session cookie checked by the service on every page, the
//! redirect to the sign-in page, CSRF tokens on every form, and `next` kept on the site.

use exit3_core::{Credential, Error, Origin, RequestContext, StaffUser};
use poem::{Request, Response};

use crate::{
    Site, cookie,
    form::{CSRF_FIELD, Form},
    render,
};

/// A signed-in staff user's request.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub(crate) user: StaffUser,
    /// The request as the service sees it: the session, from the client's address.
    pub(crate) ctx: RequestContext,
    /// The CSRF token of this session's forms.
    pub(crate) csrf: String,
    token: String,
}

impl Staff {
    /// Whether `form` carries this session's CSRF token.
    pub(crate) fn check_csrf(&self, site: &Site, form: &Form) -> Result<(), Box<Response>> {
        let sent = form.get(CSRF_FIELD).unwrap_or_default();
        if site.exit3.check_csrf(&self.token, sent) {
            Ok(())
        } else {
            Err(Box::new(render::csrf_refused(site)))
        }
    }

    /// The session's token (for signing out).
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// The service's view of a request from `req`'s client with `credential`.
pub(crate) fn context(site: &Site, req: &Request, credential: Credential) -> RequestContext {
    let client = (site.options.client)(req);
    let origin = Origin {
        ip: client.ip,
        ..Origin::default()
    };
    RequestContext { credential, origin }
}

/// The signed-in user of `req`, or the answer to give instead: the sign-in page (303,
/// back here afterwards) when there is no live session, a failure page when the store
/// cannot say.
pub(crate) async fn signed_in(site: &Site, req: &Request) -> Result<Staff, Response> {
    let back = || {
        let here = req
            .original_uri()
            .path_and_query()
            .map_or("", |p| p.as_str());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        render::see_other(&format!("{}?next={next}", site.url("login/")))
    };
    let Some(token) = cookie::get(req, cookie::SESSION) else {
        return Err(back());
    };
    match site.exit3.session(&token).await {
        Ok(Some((user, credential))) => Ok(Staff {
            csrf: site.exit3.csrf_token(&token),
            ctx: context(site, req, credential),
            user,
            token,
        }),
        Ok(None) => Err(back()),
        Err(e) => Err(render::failure(site, None, &e)),
    }
}

/// A signed-in user's form POST: the user, and the form once its CSRF token is checked;
/// or the answer to give instead (the sign-in page, the CSRF refusal).
pub(crate) async fn posted(
    site: &Site,
    req: &Request,
    body: poem::Body,
) -> Result<(Staff, Form), Box<Response>> {
    let staff = signed_in(site, req).await.map_err(Box::new)?;
    let form = crate::pages::login::read(body)
        .await
        .ok_or_else(|| Box::new(render::csrf_refused(site)))?;
    staff.check_csrf(site, &form)?;
    Ok((staff, form))
}

/// Where to go after signing in: `next` when it is a path on this site, else the
/// dashboard (never another host: `//evil.example`, `https://…`, `/\evil`).
pub(crate) fn safe_next(site: &Site, next: Option<&str>) -> String {
    let prefix = &site.options.prefix;
    match next {
        Some(n)
            if n.starts_with(prefix.as_str())
                && !n.contains('\\')
                && !n.contains("//")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => prefix.clone(),
    }
}

/// The page of a service error for a signed-in user.
pub(crate) fn failure(site: &Site, staff: &Staff, section: &'static str, e: &Error) -> Response {
    let chrome = render::Chrome::signed_in(site, &staff.user, &staff.csrf, section);
    render::failure(site, Some(chrome), e)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::AdminOptions;

    #[test]
    fn next_stays_on_the_site() {
        let store = Arc::new(exit3_store_memory::MemoryStore::new());
        let site = Site {
            exit3: exit3_core::Exit3::builder(store).build(),
            options: Arc::new(AdminOptions::default()),
        };
        assert_eq!(
            safe_next(&site, Some("/backend/admin/leads/?status=new")),
            "/backend/admin/leads/?status=new"
        );
        for bad in [
            None,
            Some("//evil.example/backend/admin/"),
            Some("https://evil.example/"),
            Some("/backend/admin//evil.example"),
            Some("/backend/admin/\\evil"),
            Some("/backend/api/v1/leads/"),
            Some("/backend/admin/\r\nSet-Cookie: x"),
        ] {
            assert_eq!(safe_next(&site, bad), "/backend/admin/", "{bad:?}");
        }
    }
}
