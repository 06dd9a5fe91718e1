//! Throttling, proxies, hosts, HTTPS, headers, CORS, outages, concurrency, OpenAPI and
//! mounting, against the real server.

mod common;

use std::{sync::Arc, time::Duration};

use common::{
    ADMIN, BROKEN, Backend, DOWN, PUBLIC, SetMode, UP, on_every_store, spawn_app, spawn_with,
};
use serde_json::{Value, json};

on_every_store!(
    lead_creation_is_throttled_exactly_with_retry_after,
    a_request_refused_by_one_scope_is_not_counted_in_the_others,
    admin_requests_are_throttled_by_key_and_others_by_address,
    forwarded_for_is_believed_only_from_trusted_proxies,
    a_hundred_concurrent_subscribes_of_one_address_make_one_subscriber,
    hosts_are_checked_against_allowed_hosts,
    every_response_carries_the_security_headers_and_api_responses_no_store,
    request_ids_are_echoed_when_sane_and_made_otherwise,
    plain_http_is_redirected_and_https_gets_hsts,
    cors_answers_exact_origins_only,
    the_openapi_document_is_valid_and_describes_the_server,
    the_api_can_be_mounted_under_another_apps_prefix,
    a_client_that_sends_garbage_gets_an_answer_and_the_server_lives_on,
);

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";

fn lead() -> Value {
    json!({"full_name": "A", "position": "B"})
}

// --- §6 throttling -------------------------------------------------------------------------------

async fn lead_creation_is_throttled_exactly_with_retry_after(backend: Backend) {
    let app = spawn_with(backend, &[("THROTTLE_LEAD_CREATE", "3/minute")]).await;
    for i in 0..3 {
        assert_eq!(
            app.post(LEADS, Some(PUBLIC), lead()).await.status,
            201,
            "request {i}"
        );
        app.clock.advance(Duration::from_secs(10));
    }
    // The oldest accepted request (t=0) leaves the window at t=60; now t=30.
    let refused = app.post(LEADS, Some(PUBLIC), lead()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.json(),
        json!({"detail": "Request was throttled. Expected available in 30 seconds."})
    );
    assert_eq!(refused.header("retry-after"), Some("30"));
    app.clock.advance(Duration::from_millis(29_500));
    let refused = app.post(LEADS, Some(PUBLIC), lead()).await;
    assert_eq!(
        (refused.status, refused.header("retry-after")),
        (429, Some("1"))
    );
    app.clock.advance(Duration::from_millis(500));
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 429);
}

async fn a_request_refused_by_one_scope_is_not_counted_in_the_others(backend: Backend) {
    let app = spawn_with(
        backend,
        &[
            ("THROTTLE_GENERAL", "4/minute"),
            ("THROTTLE_LEAD_CREATE", "2/minute"),
        ],
    )
    .await;
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 429);
    let unsub = format!("{NEWSLETTER}unsubscribe/");
    let body = json!({"email": "a@example.com"});
    assert_eq!(
        app.post(&unsub, Some(PUBLIC), body.clone()).await.status,
        200
    );
    assert_eq!(
        app.post(&unsub, Some(PUBLIC), body.clone()).await.status,
        200
    );
    assert_eq!(app.post(&unsub, Some(PUBLIC), body).await.status, 429);
    // Health is never throttled.
    assert_eq!(app.get("/backend/health/", None).await.status, 200);
}

async fn admin_requests_are_throttled_by_key_and_others_by_address(backend: Backend) {
    let app = spawn_with(
        backend,
        &[("THROTTLE_ADMIN", "2/hour"), ("THROTTLE_GENERAL", "1/hour")],
    )
    .await;
    assert_eq!(app.get(LEADS, Some(ADMIN)).await.status, 200);
    assert_eq!(app.get(LEADS, Some(ADMIN)).await.status, 200);
    let refused = app.get(LEADS, Some(ADMIN)).await;
    assert_eq!(
        (refused.status, refused.header("retry-after")),
        (429, Some("3600"))
    );
    // The public key from the same address has its own (general) budget.
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    assert_eq!(app.post(LEADS, Some(PUBLIC), lead()).await.status, 429);
}

async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let trusted = spawn_with(
        backend,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("THROTTLE_LEAD_CREATE", "1/hour"),
        ],
    )
    .await;
    let from = |ip: &'static str| {
        let app = &trusted;
        async move {
            app.call(
                "POST",
                LEADS,
                Some(PUBLIC),
                Some(lead()),
                &[("x-forwarded-for", &format!("6.6.6.6, {ip}"))],
            )
            .await
        }
    };
    let a = from("198.51.100.7").await;
    assert_eq!(a.status, 201);
    // Throttled per client address: another client behind the proxy has its own budget.
    assert_eq!(from("198.51.100.7").await.status, 429);
    assert_eq!(from("198.51.100.8").await.status, 201);
    let admin = trusted.get(LEADS, Some(ADMIN)).await.json();
    let ips: Vec<Value> = admin["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|l| l["client_info"]["ip_address"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ips, [json!("198.51.100.8"), json!("198.51.100.7")]);

    let untrusted = spawn_with(backend, &[("THROTTLE_LEAD_CREATE", "1/hour")]).await;
    let a = untrusted
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(lead()),
            &[("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    assert_eq!(a.json()["client_info"]["ip_address"], "127.0.0.1");
    let b = untrusted
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(lead()),
            &[("x-forwarded-for", "198.51.100.9")],
        )
        .await;
    assert_eq!(b.status, 429, "a spoofed header must not buy a new budget");
}

// --- concurrency, outages -------------------------------------------------------------------------

async fn a_hundred_concurrent_subscribes_of_one_address_make_one_subscriber(backend: Backend) {
    let app = Arc::new(
        spawn_with(
            backend,
            &[("THROTTLE_SUBSCRIBE", "off"), ("THROTTLE_GENERAL", "off")],
        )
        .await,
    );
    let mut tasks = Vec::new();
    for i in 0..100 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let email = if i % 2 == 0 {
                "Same@Example.com"
            } else {
                "same@example.com"
            };
            app.post(NEWSLETTER, Some(PUBLIC), json!({"email": email}))
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 99);
    let list = app.get(NEWSLETTER, Some(ADMIN)).await.json();
    assert_eq!(list["count"], 1);
}

// The two outage tests replace the store's answers with the switch, so they test the
// server, not the store: on memory only.

#[tokio::test]
async fn a_store_outage_answers_503_and_the_server_recovers() {
    let app = spawn_app(Backend::Memory).await;
    app.store.set(DOWN);
    let a = app.post(LEADS, Some(ADMIN), lead()).await;
    assert_eq!(
        (a.status, a.json()),
        (503, json!({"detail": "Service temporarily unavailable."}))
    );
    assert!(
        a.header("retry-after")
            .is_some_and(|r| r.parse::<u64>().is_ok())
    );
    let h = app.get("/backend/health/", None).await;
    assert_eq!(
        (h.status, h.json()),
        (503, json!({"status": "error", "database": "unavailable"}))
    );
    assert_eq!(app.get("/backend/health/live/", None).await.status, 200);
    app.store.set(UP);
    assert_eq!(app.post(LEADS, Some(ADMIN), lead()).await.status, 201);
    assert_eq!(app.get("/backend/health/", None).await.status, 200);
}

#[tokio::test]
async fn a_server_error_shows_nothing_internal_unless_debug() {
    let app = spawn_app(Backend::Memory).await;
    app.store.set(BROKEN);
    let a = app.get(LEADS, Some(ADMIN)).await;
    assert_eq!(
        (a.status, a.json()),
        (500, json!({"detail": "A server error occurred."}))
    );
    assert!(!a.text.contains("disk on fire"));
    let debug = spawn_with(Backend::Memory, &[("DEBUG", "true")]).await;
    debug.store.set(BROKEN);
    let a = debug.get(LEADS, Some(ADMIN)).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.json()["detail"], "A server error occurred.");
    assert!(a.text.contains("disk on fire"), "{}", a.text);
}

// --- §7 hosts, HTTPS, headers, CORS ----------------------------------------------------------------

async fn hosts_are_checked_against_allowed_hosts(backend: Backend) {
    let app = spawn_with(backend, &[("ALLOWED_HOSTS", ".example.com,api.test")]).await;
    for (host, status) in [
        ("example.com", 200),
        ("a.b.example.com:8000", 200),
        ("api.test", 200),
        ("evil.com", 400),
        ("badexample.com", 400),
        ("127.0.0.1", 400),
    ] {
        let a = app
            .call(
                "GET",
                "/backend/health/live/",
                None,
                None,
                &[("host", host)],
            )
            .await;
        assert_eq!(a.status, status, "{host}");
        if status == 400 {
            assert_eq!(a.json(), json!({"detail": "Invalid host header."}));
        }
    }
    let default = spawn_with(backend, &[("ALLOWED_HOSTS", "")]).await;
    for (host, status) in [
        ("localhost:1", 200),
        ("127.0.0.1", 200),
        ("[::1]:80", 200),
        ("example.com", 400),
    ] {
        let a = default
            .call(
                "GET",
                "/backend/health/live/",
                None,
                None,
                &[("host", host)],
            )
            .await;
        assert_eq!(a.status, status, "{host}");
    }
}

async fn every_response_carries_the_security_headers_and_api_responses_no_store(backend: Backend) {
    let app = spawn_app(backend).await;
    for (method, path, key) in [
        ("GET", LEADS, Some(ADMIN)),
        ("GET", "/nothing", None),
        ("GET", "/backend/health/", None),
        ("PUT", LEADS, None),
        ("POST", LEADS, None),
    ] {
        let a = app.call(method, path, key, None, &[]).await;
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            assert_eq!(a.header(name), Some(value), "{method} {path} {name}");
        }
        assert!(a.header("x-request-id").is_some_and(|id| !id.is_empty()));
    }
    assert_eq!(
        app.get(LEADS, Some(ADMIN)).await.header("cache-control"),
        Some("no-store")
    );
}

async fn request_ids_are_echoed_when_sane_and_made_otherwise(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .call(
            "GET",
            "/backend/health/live/",
            None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await;
    assert_eq!(a.header("x-request-id"), Some("abc-123"));
    let b = app
        .call(
            "GET",
            "/backend/health/live/",
            None,
            None,
            &[("x-request-id", "bad id!")],
        )
        .await;
    assert!(
        b.header("x-request-id")
            .is_some_and(|id| id != "bad id!" && id.len() == 32)
    );
}

async fn plain_http_is_redirected_and_https_gets_hsts(backend: Backend) {
    let app = spawn_with(
        backend,
        &[
            ("SECURE_SSL_REDIRECT", "true"),
            ("SECURE_HSTS_SECONDS", "3600"),
            ("SECURE_HSTS_PRELOAD", "true"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let a = app
        .call(
            "GET",
            "/backend/api/v1/leads/?page=2",
            Some(ADMIN),
            None,
            &[("host", "api.example.com")],
        )
        .await;
    assert_eq!(a.status, 301);
    assert_eq!(
        a.header("location"),
        Some("https://api.example.com/backend/api/v1/leads/?page=2")
    );
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    let b = app
        .call(
            "GET",
            LEADS,
            Some(ADMIN),
            None,
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(b.status, 200);
    assert_eq!(
        b.header("strict-transport-security"),
        Some("max-age=3600; includeSubDomains; preload")
    );
    let next_base = b.json()["results"].clone();
    assert_eq!(next_base, json!([]));

    // An untrusted peer's X-Forwarded-Proto is ignored.
    let untrusted = spawn_with(backend, &[("SECURE_SSL_REDIRECT", "true")]).await;
    let c = untrusted
        .call(
            "GET",
            LEADS,
            Some(ADMIN),
            None,
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(c.status, 301);
    assert_eq!(c.header("strict-transport-security"), None);
}

async fn cors_answers_exact_origins_only(backend: Backend) {
    let app = spawn_with(
        backend,
        &[("CORS_ALLOWED_ORIGINS", "https://exit3.example")],
    )
    .await;
    let pre = app
        .call(
            "OPTIONS",
            LEADS,
            None,
            None,
            &[
                ("origin", "https://exit3.example"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
    assert_eq!(pre.status, 200);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://exit3.example")
    );
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("authorization, content-type, x-api-key")
    );
    let real = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(lead()),
            &[("origin", "https://exit3.example")],
        )
        .await;
    assert_eq!(
        (real.status, real.header("access-control-allow-origin")),
        (201, Some("https://exit3.example"))
    );
    let other = app
        .call(
            "OPTIONS",
            LEADS,
            None,
            None,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-allow-methods"), None);
    let unset = spawn_app(backend).await;
    let a = unset
        .call(
            "GET",
            LEADS,
            Some(ADMIN),
            None,
            &[("origin", "https://exit3.example")],
        )
        .await;
    assert_eq!(a.header("access-control-allow-origin"), None);
}

// --- OpenAPI ------------------------------------------------------------------------------------------

async fn the_openapi_document_is_valid_and_describes_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let served = app.get("/backend/api/schema/", None).await;
    assert_eq!(served.status, 200);
    let doc: openapiv3::OpenAPI =
        serde_json::from_str(&served.text).unwrap_or_else(|e| panic!("invalid OpenAPI: {e}"));
    assert!(doc.openapi.starts_with("3."));
    let raw = served.json();
    for path in [
        "/backend/api/v1/leads/",
        "/backend/api/v1/leads/{id}/",
        "/backend/api/leads/",
        "/backend/api/v1/newsletter/",
        "/backend/api/v1/newsletter/{id}/",
        "/backend/api/v1/newsletter/unsubscribe/",
        "/backend/api/newsletter/unsubscribe/",
        "/backend/health/",
        "/backend/health/live/",
    ] {
        assert!(doc.paths.paths.contains_key(path), "{path} missing");
    }
    assert_eq!(
        raw["paths"]["/backend/api/leads/"]["post"]["deprecated"],
        true
    );
    assert_ne!(
        raw["paths"]["/backend/api/v1/leads/"]["post"]["deprecated"],
        true
    );
    let schemes = raw["components"]["securitySchemes"]
        .as_object()
        .map(|o| o.len());
    assert_eq!(schemes, Some(3));
    let ids: Vec<String> = raw["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .flat_map(|ops| ops.as_object().into_iter().flat_map(|o| o.values()))
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "operation ids must be unique");

    // Sampled operations: the documented statuses are the ones the server answers.
    let create = &raw["paths"]["/backend/api/v1/leads/"]["post"];
    for status in ["201", "400", "403", "413", "415", "429", "503"] {
        assert!(
            create["responses"][status].is_object(),
            "create lead documents {status}"
        );
    }
    assert!(create["requestBody"]["content"]["application/json"].is_object());
    assert!(create["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    let subscribe = &raw["paths"]["/backend/api/v1/newsletter/"]["post"]["responses"];
    assert!(subscribe["200"].is_object() && subscribe["201"].is_object());
    assert!(raw["paths"]["/backend/api/v1/leads/{id}/"]["delete"]["responses"]["204"].is_object());
    let params: Vec<&str> = raw["paths"]["/backend/api/v1/leads/"]["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for p in [
        "page",
        "page_size",
        "status",
        "source",
        "category",
        "created_after",
        "created_before",
        "search",
        "ordering",
    ] {
        assert!(params.contains(&p), "list leads documents {p}");
    }

    // The documented Lead schema has exactly the fields the server sends.
    let lead = app
        .create_lead(json!({"full_name": "A", "position": "B"}))
        .await;
    let mut sent: Vec<&String> = lead
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let mut documented: Vec<&String> = raw["components"]["schemas"]["Lead"]["properties"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    sent.sort();
    documented.sort();
    assert_eq!(sent, documented);
    let throttled = &create["responses"]["429"]["headers"];
    let documented_header = throttled
        .as_object()
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("retry-after")));
    assert!(documented_header, "{throttled}");
}

// --- embedding ------------------------------------------------------------------------------------------

async fn the_api_can_be_mounted_under_another_apps_prefix(backend: Backend) {
    use exit3_core::Exit3;
    use poem::Route;

    let settings = common::settings(&[]);
    let exit3 = Exit3::builder(backend.store().await)
        .keys(settings.api_keys())
        .build();
    let app = Route::new().nest(
        "/crm",
        exit3_server::endpoint(
            exit3,
            settings.http_options(exit3_server::Metrics::default()),
        ),
    );
    let bound = exit3_server::server::bind(
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        exit3_server::server::Limits::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = bound.local_addr();
    tokio::spawn(bound.serve(app, std::future::pending(), Duration::from_secs(1)));
    let http = common::client();
    for _ in 0..3 {
        let req = http
            .post(format!("http://{addr}/crm/backend/api/v1/leads"))
            .header("x-api-key", ADMIN)
            .json(&lead());
        assert_eq!(common::send(req).await.status, 201);
    }
    let list = common::send(
        http.get(format!(
            "http://{addr}/crm/backend/api/v1/leads/?page_size=2"
        ))
        .header("x-api-key", ADMIN),
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        list.json()["next"],
        json!(format!(
            "http://{addr}/crm/backend/api/v1/leads/?page_size=2&page=2"
        ))
    );
    let missing = common::send(http.get(format!("http://{addr}/crm/backend/nope"))).await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({"detail": "Not found."}))
    );
}

async fn a_client_that_sends_garbage_gets_an_answer_and_the_server_lives_on(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(backend).await;
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /backend/health/ HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        b"POST /backend/api/v1/leads/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nab",
    ] {
        if let Ok(mut s) = tokio::net::TcpStream::connect(app.addr).await {
            let _ = s.write_all(garbage).await;
            let _ = s.shutdown().await;
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        }
    }
    assert_eq!(app.get("/backend/health/", None).await.status, 200);
}

// --- PostgreSQL: two instances on one database ------------------------------------------------------
// (PostgreSQL only: the shared harness skips it, or fails it under EXIT3_REQUIRE_POSTGRES=1.)

#[tokio::test]
async fn two_instances_on_one_database_share_throttle_counts() {
    // One database, two stores (two pools), as two server instances would have.
    let Some(db) = exit3_store_postgres::testing::test_db().await else {
        return;
    };
    let (db, vars) = (&db, &[("THROTTLE_LEAD_CREATE", "2/hour")]);
    let instance = || async move {
        let store = exit3_store_postgres::PostgresStore::connect(db.options_for())
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", db.name));
        // What each server does at start; the second finds nothing to do.
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        common::spawn_on(common::settings(vars), common::switch(Arc::new(store))).await
    };
    let one = instance().await;
    let two = instance().await;
    two.clock.set(exit3_core::Clock::now(&one.clock));
    assert_eq!(one.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    assert_eq!(two.post(LEADS, Some(PUBLIC), lead()).await.status, 201);
    let refused = one.post(LEADS, Some(PUBLIC), lead()).await;
    assert_eq!(
        (refused.status, refused.header("retry-after")),
        (429, Some("3600"))
    );
    assert_eq!(two.post(LEADS, Some(PUBLIC), lead()).await.status, 429);
    // Both see the same data.
    assert_eq!(two.get(LEADS, Some(ADMIN)).await.json()["count"], 2);
}
