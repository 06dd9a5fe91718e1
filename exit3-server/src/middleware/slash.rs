//! Trailing slashes are canonical: a path is answered the same with or without one (no
//! redirect, which would drop a POST body). The routes are registered without them, so
//! the path is rewritten for them, and the canonical path and its route are kept for the
//! layers around.

use poem::{Request, http::Uri};

use crate::routes::{RouteInfo, route_of};

/// The request's canonical path (with the trailing slash) and its route, if any.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The path with its trailing slash.
    pub path: String,
    /// The route it belongs to.
    pub route: Option<RouteInfo>,
}

/// Rewrites the request's path for the routes and says which route it belongs to.
pub(crate) fn canonicalise(req: &mut Request) -> Matched {
    let mut path = req.uri().path().to_owned();
    if path.starts_with("/backend") && !path.ends_with('/') {
        path.push('/');
    }
    if let Some(internal) = path
        .strip_prefix("/backend/")
        .and_then(|_| path.strip_suffix('/'))
    {
        let new = match req.uri().query() {
            Some(q) => format!("{internal}?{q}"),
            None => internal.to_owned(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    let route = route_of(&path);
    Matched { path, route }
}
