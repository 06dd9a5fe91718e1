//! # exit3-admin
//!
//! The staff site at `/backend/admin/` (admin.md): the Django admin's replacement.
//! Server-rendered HTML that works without JavaScript, every asset served by the site
//! itself. It calls the same [`Exit3`] service as the JSON API — sign-in, sessions,
//! roles, CSRF tokens and every rule are the core's; this crate only turns requests
//! into service calls and answers into pages.
//!
//! ```
//! use std::sync::Arc;
//! use exit3_admin::{AdminOptions, endpoint};
//! use exit3_core::Exit3;
//! # use exit3_store_memory::MemoryStore;
//!
//! let exit3 = Exit3::builder(Arc::new(MemoryStore::new())).build();
//! let app = poem::Route::new().nest("/backend/admin", endpoint(exit3, AdminOptions::default()));
//! # let _ = app;
//! ```
//!
//! Staff sign in with a username and password made by `exit3-server createsuperuser`
//! (the first) or by a superuser on the site's staff page.

mod assets;
mod auth;
mod cookie;
mod form;
mod pages;
mod render;

use std::{fmt, net::IpAddr, sync::Arc};

use exit3_core::Exit3;
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Request, Response, Route, get, http::Uri, web::RemoteAddr,
};

/// Where a request came from, as the frontend around the site knows it (the JSON API's
/// server applies its trusted-proxy rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address, for the login throttle.
    pub ip: Option<IpAddr>,
    /// Whether the request came over HTTPS (cookies are then `Secure`).
    pub https: bool,
}

/// How the site finds a request's [`Client`].
pub type ClientFn = Arc<dyn Fn(&Request) -> Client + Send + Sync>;

/// The site's options. `Default`: mounted at `/backend/admin/`, named "Exit Three",
/// the client is the TCP peer over plain HTTP.
#[derive(Clone)]
pub struct AdminOptions {
    /// The path the site is mounted at, with both slashes (links and cookies use it).
    pub prefix: String,
    /// The name pages show.
    pub site_name: String,
    /// Who the client is (the server passes its proxy rule).
    pub client: ClientFn,
}

impl fmt::Debug for AdminOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminOptions")
            .field("prefix", &self.prefix)
            .field("site_name", &self.site_name)
            .finish_non_exhaustive()
    }
}

impl Default for AdminOptions {
    fn default() -> Self {
        Self {
            prefix: "/backend/admin/".to_owned(),
            site_name: "Exit Three".to_owned(),
            client: Arc::new(peer),
        }
    }
}

/// The TCP peer, over plain HTTP.
fn peer(req: &Request) -> Client {
    let ip = match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    };
    Client { ip, https: false }
}

/// What every page handler gets: the service and the options.
#[derive(Clone)]
pub(crate) struct Site {
    exit3: Exit3,
    options: Arc<AdminOptions>,
}

impl Site {
    /// The URL of `path` (without a leading slash) on the site.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.options.prefix)
    }
}

/// The site as a poem endpoint, to be nested at [`AdminOptions::prefix`]. Paths are
/// answered with or without their trailing slash.
pub fn endpoint(exit3: Exit3, options: AdminOptions) -> impl Endpoint<Output = Response> {
    let site = Site {
        exit3,
        options: Arc::new(options),
    };
    let missing = site.clone();
    Route::new()
        .at("/", get(pages::dashboard::show))
        .at("/login", get(pages::login::show).post(pages::login::submit))
        .at("/logout", poem::post(pages::login::logout))
        .at("/leads", get(pages::leads::list))
        .at("/leads/bulk", poem::post(pages::bulk::apply))
        .at("/leads/export.csv", get(pages::export::leads))
        .at("/subscribers/export.csv", get(pages::export::subscribers))
        .at("/leads/:id", get(pages::lead::show).post(pages::lead::save))
        .at("/leads/:id/status", poem::post(pages::lead::set_status))
        .at("/leads/:id/notes", poem::post(pages::lead::save_notes))
        .at(
            "/leads/:id/delete",
            get(pages::lead::confirm_delete).post(pages::lead::delete),
        )
        .at(
            "/quarantine",
            get(pages::quarantine::show).post(pages::quarantine::act),
        )
        .at("/subscribers", get(pages::subscribers::list))
        .at(
            "/subscribers/:id",
            get(pages::subscribers::show).post(pages::subscribers::act),
        )
        .at("/history", get(pages::history::list))
        .at(
            "/privacy",
            get(pages::privacy::show).post(pages::privacy::act),
        )
        .at(
            "/webhooks",
            get(pages::webhooks::list).post(pages::webhooks::add),
        )
        .at(
            "/webhooks/:id",
            get(pages::webhooks::show).post(pages::webhooks::act),
        )
        .at("/staff", get(pages::staff::list).post(pages::staff::add))
        .at("/staff/:id", poem::post(pages::staff::change))
        .at("/static/admin.css", get(assets::css))
        .catch_error(move |_: poem::error::NotFoundError| {
            let site = missing.clone();
            async move { render::not_found(&site) }
        })
        .data(site)
        .before(|mut req: Request| async move {
            without_trailing_slash(&mut req);
            Ok(req)
        })
        .map_to_response()
        .into_endpoint()
}

/// `/leads/` → `/leads`, so that the site answers the same either way (and behind the
/// API's server, which already strips it).
fn without_trailing_slash(req: &mut Request) {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
}
