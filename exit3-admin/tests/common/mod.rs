//! What the staff site's tests share: a site on a store with a manual clock, a
//! browser that keeps cookies, staff users and leads made through the service, and the
//! macro that runs each test on every store.

#![allow(dead_code)]

use std::{collections::BTreeMap, net::IpAddr, sync::Arc, time::Duration};

use exit3_admin::{AdminOptions, Client, endpoint};
use exit3_core::{
    ApiKeys, DynStore, Exit3, ManualClock, Origin, Payload, RequestContext, StaffInput, StaffRole,
    ThrottleRates, testing::at,
};
use poem::{Endpoint, EndpointExt, Request, Route, http::Method};

pub const ADMIN: &str = "admin-key-for-tests-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";
pub const PUBLIC: &str = "public-key-for-tests";

pub struct Site {
    pub exit3: Exit3,
    pub clock: ManualClock,
    pub app: poem::endpoint::BoxEndpoint<'static, poem::Response>,
}

pub fn site(store: DynStore, rates: ThrottleRates) -> Site {
    let clock = ManualClock::new(at(0));
    let exit3 = Exit3::builder(store)
        .keys(ApiKeys::new([ADMIN], [PUBLIC]))
        .rates(rates)
        .clock(clock.clone())
        .session_age(Duration::from_secs(3600))
        .build();
    let options = AdminOptions {
        client: Arc::new(|req: &Request| Client {
            ip: req
                .header("x-test-ip")
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            https: false,
        }),
        ..AdminOptions::default()
    };
    let app = Route::new()
        .nest("/backend/admin", endpoint(exit3.clone(), options))
        .map_to_response()
        .boxed();
    Site { exit3, clock, app }
}

/// A browser: keeps cookies, follows nothing by itself.
pub struct Browser<'a> {
    site: &'a Site,
    pub cookies: BTreeMap<String, String>,
    pub ip: &'static str,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: poem::http::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the first hidden `csrfmiddlewaretoken` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrfmiddlewaretoken\" value=\"")
            .expect("a CSRF field");
        let rest = &self.body[at + 34..];
        rest[..rest.find('"').expect("end")].to_owned()
    }
}

impl<'a> Browser<'a> {
    pub fn new(site: &'a Site) -> Self {
        Self {
            site,
            cookies: BTreeMap::new(),
            ip: "192.0.2.10",
        }
    }

    pub async fn send(&mut self, method: Method, path: &str, form: &[(&str, &str)]) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut req = Request::builder()
            .method(method)
            .uri(path.parse().expect("uri"))
            .header("x-test-ip", self.ip);
        if !cookie.is_empty() {
            req = req.header("cookie", cookie.join("; "));
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().copied())
            .finish();
        let req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let resp = self.site.app.call(req).await.expect("a response");
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let status = resp.status().as_u16();
        let location = resp.header("location").map(str::to_owned);
        let headers = resp.headers().clone();
        let body = resp.into_body().into_string().await.expect("a body");
        Page {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, form).await
    }

    pub async fn sign_in(&mut self, username: &str, password: &str, next: &str) -> Page {
        let form = self.get("/backend/admin/login/").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post(
            "/backend/admin/login/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", username),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }
}

pub async fn add(site: &Site, username: &str, role: StaffRole) {
    site.exit3
        .add_staff(StaffInput {
            username,
            email: &format!("{username}@example.com"),
            role,
            password: PASSWORD,
        })
        .await
        .expect("added");
}

pub async fn lead(site: &Site, body: serde_json::Value, user_agent: &str) -> i64 {
    let ctx = RequestContext {
        origin: Origin {
            user_agent: Some(user_agent.to_owned()),
            ..Origin::default()
        },
        ..RequestContext::with_key(ADMIN)
    };
    site.exit3
        .create_lead(&ctx, &Payload::from_json(body).expect("object"))
        .await
        .expect("created")
        .id
        .get()
}

/// Stamps each test into `memory::name` and `postgres::name`.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(std::sync::Arc::new(exit3_store_memory::MemoryStore::new())).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(store) = exit3_store_postgres::testing::fresh_dyn_store().await {
                        super::$name(store).await;
                    }
                }
            )+
        }
    };
}
