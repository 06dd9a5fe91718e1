//! The test app: the real server on 127.0.0.1:0 over a switchable store — memory or a
//! fresh PostgreSQL database of the shared harness ([`exit3_store_postgres::testing`]) —
//! with a manual clock, and an HTTP client.

#![allow(dead_code)]

pub mod delivery;
pub mod idempotency;
pub mod openapi;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering as AtomicOrdering},
    },
    time::Duration,
};

use async_trait::async_trait;
use exit3_core::{
    DynStore, Exit3, ManualClock,
    store::{Decorated, StoreCall, StoreError, StoreHook, StoreResult},
};
use exit3_server::{
    Metrics,
    app::{
        self,
        config::{HostPattern, Settings},
    },
    server,
};
use exit3_store_memory::MemoryStore;
use exit3_store_postgres::testing;
use serde_json::Value;
use tokio::sync::oneshot;

pub const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
pub const PUBLIC: &str = "public-key-0123456789abcdef01234567";

/// What the switchable store does.
pub const UP: u8 = 0;
/// Every call answers `Unavailable`.
pub const DOWN: u8 = 1;
/// Every call answers `Internal`.
pub const BROKEN: u8 = 2;
/// Every call panics.
pub const PANICKING: u8 = 3;
/// Every call waits for ever (a statement that never ends).
pub const HANGING: u8 = 4;

/// What a switchable store does now.
#[derive(Debug)]
pub struct Switch {
    mode: AtomicU8,
}

#[async_trait]
impl StoreHook for Switch {
    async fn before(&self, _: StoreCall) -> StoreResult<()> {
        match self.mode.load(AtomicOrdering::SeqCst) {
            UP => Ok(()),
            DOWN => Err(StoreError::unavailable("connection refused (test outage)")),
            PANICKING => panic!("the store exploded (test panic)"),
            HANGING => std::future::pending().await,
            _ => Err(StoreError::other("disk on fire (test failure)")),
        }
    }
}

/// A store that can be switched to fail.
pub type SwitchStore = Decorated<Switch>;

/// Switches a [`SwitchStore`].
pub trait SetMode {
    /// Sets what every call does from now on.
    fn set(&self, mode: u8);
}

impl SetMode for SwitchStore {
    fn set(&self, mode: u8) {
        self.hook().mode.store(mode, AtomicOrdering::SeqCst);
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub store: Arc<SwitchStore>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Settings from variables (on top of the test keys), every host allowed unless set.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut all: std::collections::HashMap<String, String> =
        [("BASIC_API_KEY", ADMIN), ("PUBLIC_API_KEY", PUBLIC)]
            .into_iter()
            .chain(vars.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let hosts_given = all.contains_key("ALLOWED_HOSTS");
    all.entry("LOG_FORMAT".into())
        .or_insert_with(|| "text".into());
    let mut s = Settings::from_vars(&all).unwrap_or_else(|e| panic!("{e}"));
    if !hosts_given {
        s.allowed_hosts = vec![HostPattern::Any];
    }
    s
}

/// The store a black-box test runs on. Every test that talks to a store runs once on
/// each (see [`on_every_store!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// [`MemoryStore`].
    Memory,
    /// [`exit3_store_postgres::PostgresStore`] on a fresh database of the shared harness
    /// ([`exit3_store_postgres::testing`]).
    Postgres,
}

impl Backend {
    /// A fresh, empty store of this kind.
    pub async fn store(self) -> DynStore {
        match self {
            Backend::Memory => Arc::new(MemoryStore::new()),
            Backend::Postgres => testing::fresh_dyn_store()
                .await
                .unwrap_or_else(|| panic!("PostgreSQL was available and is not any more")),
        }
    }
}

/// Stamps each listed `async fn name(backend: Backend)` into two tests,
/// `memory::name` and `postgres::name`. The PostgreSQL variant is skipped (saying
/// `SKIPPED (no PostgreSQL): <why>`) when there is no PostgreSQL, and fails instead under
/// `EXIT3_REQUIRE_POSTGRES=1`.
#[allow(unused_macros)]
macro_rules! on_every_store {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Memory).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if exit3_store_postgres::testing::available().await {
                        super::$name($crate::common::Backend::Postgres).await;
                    }
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_every_store;

/// The server with default settings on a fresh store of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, &[]).await
}

/// The server with extra settings on a fresh store of `backend`.
pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
    let settings = settings(vars);
    spawn_on(settings, switch(backend.store().await)).await
}

/// A switchable store over `inner`.
pub fn switch(inner: DynStore) -> Arc<SwitchStore> {
    Arc::new(Decorated::new(
        inner,
        Switch {
            mode: AtomicU8::new(UP),
        },
    ))
}

/// The server over `store`.
pub async fn spawn_on(settings: Settings, store: Arc<SwitchStore>) -> TestApp {
    spawn_observed(settings, store, Metrics::default()).await
}

/// The server over `store`, recording into `metrics` (store errors included).
pub async fn spawn_observed(
    settings: Settings,
    store: Arc<SwitchStore>,
    metrics: Metrics,
) -> TestApp {
    let bound = bind(&settings).await;
    serve_on(bound, &settings, store, metrics).0
}

/// A listener on 127.0.0.1 (a free port) with the settings' limits.
pub async fn bind(settings: &Settings) -> server::Bound {
    server::bind(
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        settings.limits(),
    )
    .await
    .unwrap_or_else(|e| panic!("bind: {e}"))
}

/// Serves the app of `settings` over `store` on `bound`, with a manual clock; answers
/// the app and its service (for a worker of the same process).
pub fn serve_on(
    bound: server::Bound,
    settings: &Settings,
    store: Arc<SwitchStore>,
    metrics: Metrics,
) -> (TestApp, Exit3) {
    let clock = ManualClock::default();
    let dyn_store: DynStore = store.clone();
    let exit3 = settings
        .service_builder(metrics.watch_store(dyn_store))
        .observer(metrics.observer())
        .clock(clock.clone())
        .build();
    // As the binary serves it: with the error reports around.
    let app = app::http(exit3.clone(), settings.http_options(metrics));
    let addr = bound.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(bound.serve(
        app,
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(1),
    ));
    let app = TestApp {
        addr,
        http: client(),
        clock,
        store,
        shutdown: Some(tx),
    };
    (app, exit3)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `method path` with `key` (as `Authorization: Basic`), an optional JSON body
    /// and extra headers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(key) = key {
            req = req.header("authorization", format!("Basic {key}"));
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let answer = send(req).await;
        openapi::check(
            method.as_str(),
            path,
            answer.status,
            answer.header("content-type"),
            &answer.text,
        );
        answer
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Answer {
        self.call("GET", path, key, None, &[]).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Answer {
        self.call("POST", path, key, Some(body), &[]).await
    }

    /// Creates a lead as admin; its JSON.
    pub async fn create_lead(&self, body: Value) -> Value {
        let a = self.post("/backend/api/v1/leads/", Some(ADMIN), body).await;
        assert_eq!(a.status, 201, "{}", a.text);
        a.json()
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        text,
    }
}
