//! The site's two cookies, read from `Cookie` and written as `Set-Cookie` by hand: their
//! values are URL-safe base64 tokens, so no encoding is needed, and poem's cookie
//! feature would bring a cookie crate with its own encryption for nothing.

use std::time::Duration;

use poem::Request;

/// The session cookie (admin.md): `HttpOnly`, `SameSite=Lax`, on the site's path.
pub(crate) const SESSION: &str = "exit3_admin";
/// A signed-out visitor's nonce, which the login form's CSRF token is bound to.
pub(crate) const LOGIN: &str = "exit3_admin_login";

/// The value of cookie `name`, if the request sent one (the first, if several).
pub(crate) fn get(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value for `name=value` on `path`; a session cookie (no `Max-Age`)
/// unless `max_age` is given.
pub(crate) fn set(
    name: &str,
    value: &str,
    path: &str,
    secure: bool,
    max_age: Option<Duration>,
) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// A `Set-Cookie` value that removes cookie `name`.
pub(crate) fn clear(name: &str, path: &str, secure: bool) -> String {
    set(name, "", path, secure, Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_written_with_their_flags() {
        let req = Request::builder()
            .header("cookie", "a=1; exit3_admin=tok-en_1")
            .header("cookie", "exit3_admin=second")
            .finish();
        assert_eq!(get(&req, SESSION).as_deref(), Some("tok-en_1"));
        assert_eq!(get(&req, LOGIN), None);
        assert_eq!(get(&Request::default(), SESSION), None);
        assert_eq!(
            set(
                SESSION,
                "t",
                "/backend/admin/",
                true,
                Some(Duration::from_secs(60))
            ),
            "exit3_admin=t; Path=/backend/admin/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(
            clear(SESSION, "/x/", false),
            "exit3_admin=; Path=/x/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
