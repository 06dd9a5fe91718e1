//! The holes a security review found, each tried over HTTP as an attacker would, on
//! every store: the request that used to succeed now gets the contract's answer.

mod common;

use std::time::Duration;

use common::{
    ADMIN, Backend, HANGING, PUBLIC, SetMode, UP, settings, spawn_observed, spawn_on, spawn_with,
    switch,
};
use exit3_server::Metrics;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";

fn lead_with(email: &str) -> Value {
    json!({"full_name": "Ada", "position": "CTO", "email": email})
}

/// Item 1: E-mail fields: no markup, no literals; the domain is mapped before it is judged;
/// a value that grows in the mapping answers a field error, not the database's 500.
async fn email_fields_refuse_markup_literals_and_disguised_disposable_domains(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    for (email, message) in [
        (
            "a@<img/src/onerror=alert(1)>[127.0.0.1]",
            "Enter a valid email address.",
        ),
        ("a@[127.0.0.1]", "Enter a valid email address."),
        (
            "x@ｍａｉｌｉｎａｔｏｒ.com",
            "Disposable email addresses are not allowed.",
        ),
        (
            "x@Sub.MAILINATOR.com",
            "Disposable email addresses are not allowed.",
        ),
    ] {
        for path in [LEADS, NEWSLETTER] {
            let body = if path == LEADS {
                lead_with(email)
            } else {
                json!({"email": email})
            };
            let a = app.post(path, Some(PUBLIC), body).await;
            assert_eq!(a.status, 400, "{email} on {path}: {}", a.text);
            assert_eq!(a.json(), json!({"email": [message]}), "{email}");
        }
    }
    let growing = format!("a@{}.com", "İ".repeat(240));
    for path in [LEADS, NEWSLETTER] {
        let body = if path == LEADS {
            lead_with(&growing)
        } else {
            json!({"email": growing})
        };
        let a = app.post(path, Some(ADMIN), body).await;
        assert_eq!(a.status, 400, "{}", a.text);
        assert!(a.json()["email"].is_array(), "{}", a.text);
    }
    // What is stored is the mapped domain.
    let a = app
        .post(LEADS, Some(ADMIN), lead_with("Ada@ＥＸＡＭＰＬＥ.com"))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["email"], "Ada@example.com");
}

/// Item 2: Real organisations' domains are leads, not "disposable"; the lists are settings.
async fn real_domains_are_accepted_and_the_lists_are_configurable(backend: Backend) {
    let app = spawn_with(
        backend,
        &[
            ("DISPOSABLE_DOMAINS_BLOCK", "burner.example"),
            ("DISPOSABLE_DOMAINS_ALLOW", "yopmail.com"),
        ],
    )
    .await;
    for email in ["john@test.com", "a@zero.net", "b@za.com", "c@zzz.com"] {
        let a = app.post(LEADS, Some(PUBLIC), lead_with(email)).await;
        assert_eq!(a.status, 201, "{email}: {}", a.text);
    }
    let blocked = app
        .post(
            NEWSLETTER,
            Some(PUBLIC),
            json!({"email": "x@mail.burner.example"}),
        )
        .await;
    assert_eq!(blocked.status, 400, "{}", blocked.text);
    let allowed = app
        .post(NEWSLETTER, Some(PUBLIC), json!({"email": "x@yopmail.com"}))
        .await;
    assert_eq!(allowed.status, 201, "{}", allowed.text);
}

/// Item 3: No request can add a metric label: 2,000 requests with 2,000-letter methods to an
/// unknown path leave one `OTHER` / `unmatched` series.
async fn random_methods_and_paths_do_not_grow_the_metrics(backend: Backend) {
    let app = spawn_observed(
        settings(&[]),
        switch(backend.store().await),
        Metrics::default(),
    )
    .await;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..2_000 {
        let method: String = (0..2_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'A' + (state % 26) as u8)
            })
            .collect();
        let a = app.call(&method, &format!("/x{i}"), None, None, &[]).await;
        assert_eq!(a.status, 404);
    }
    let scrape = app.get("/backend/metrics/", Some(ADMIN)).await;
    assert_eq!(scrape.status, 200);
    assert!(
        scrape.text.len() < 64 * 1024,
        "{} bytes after 2,000 odd requests",
        scrape.text.len()
    );
    assert!(scrape.text.contains("method=\"OTHER\""), "{}", scrape.text);
    assert!(scrape.text.contains("route=\"unmatched\""));
}

/// Item 5: An IPv6 client is one client per /64: addresses of one line share a window.
async fn ipv6_clients_are_throttled_per_prefix(backend: Backend) {
    let app = spawn_with(
        backend,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("THROTTLE_LEAD_CREATE", "2/hour"),
        ],
    )
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let body = lead_with("ada@example.com");
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::2"] {
        let a = app
            .call("POST", LEADS, Some(PUBLIC), Some(body.clone()), &from(ip))
            .await;
        assert_eq!(a.status, 201, "{ip}: {}", a.text);
    }
    let same_line = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(body.clone()),
            &from("2001:db8:1:2:dead:beef::3"),
        )
        .await;
    assert_eq!(same_line.status, 429, "{}", same_line.text);
    let other_line = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(body),
            &from("2001:db8:1:3::1"),
        )
        .await;
    assert_eq!(other_line.status, 201, "{}", other_line.text);
}

/// Item 6a: A request the store does not answer gets 503 with `Retry-After` once
/// `REQUEST_TIMEOUT` passes, and the server keeps serving.
async fn a_request_not_answered_in_time_gets_503(backend: Backend) {
    let store = switch(backend.store().await);
    let app = spawn_on(settings(&[("REQUEST_TIMEOUT", "300ms")]), store.clone()).await;
    store.set(HANGING);
    let a = app.get(LEADS, Some(ADMIN)).await;
    assert_eq!(a.status, 503, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"detail": "Service temporarily unavailable."})
    );
    assert!(a.header("retry-after").is_some());
    store.set(UP);
    assert_eq!(app.get(LEADS, Some(ADMIN)).await.status, 200);
}

/// Item 6b: A client that sends half a request head and waits is cut off.
async fn a_client_that_never_finishes_its_request_head_is_cut_off(backend: Backend) {
    let exit3 = exit3_core::Exit3::builder(backend.store().await).build();
    let app = exit3_server::endpoint(exit3, exit3_server::HttpOptions::default().any_host());
    let bound = exit3_server::server::bind(
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        exit3_server::server::Limits {
            max_connections: 100,
            head_timeout: Duration::from_millis(500),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = bound.local_addr();
    tokio::spawn(bound.serve(app, std::future::pending(), Duration::from_secs(1)));
    let mut slow = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    slow.write_all(b"GET /backend/health/live/ HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "still connected: {read:?}"
    );
    // A client that finishes its head in time is answered.
    let mut quick = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    quick
        .write_all(
            b"GET /backend/health/live/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = quick.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Item 9: Filters PostgreSQL cannot take are the validation shape, not a 500.
async fn list_filters_postgres_cannot_take_are_400(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let nul = app.get(&format!("{LEADS}?search=%00"), Some(ADMIN)).await;
    assert_eq!(nul.status, 400, "{}", nul.text);
    assert_eq!(
        nul.json(),
        json!({"search": ["Null characters are not allowed."]})
    );
    let sub = app
        .get(&format!("{NEWSLETTER}?search=a%00"), Some(ADMIN))
        .await;
    assert_eq!(sub.status, 400, "{}", sub.text);
    for date in ["-9999-01-01", "0000-01-01", "10000-01-01"] {
        let a = app
            .get(&format!("{LEADS}?created_after={date}"), Some(ADMIN))
            .await;
        assert_eq!(a.status, 400, "{date}: {}", a.text);
        assert_eq!(
            a.json(),
            json!({"created_after": ["Enter a valid date/time."]})
        );
    }
    let edge = app
        .get(
            &format!("{LEADS}?created_after=0001-01-01&created_before=9999-12-31"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(edge.status, 200, "{}", edge.text);
}

/// Item 10: Bidi overrides are refused in names; headers are stored without control and
/// format characters.
async fn bidi_overrides_are_refused_and_headers_cleaned(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let a = app
        .post(
            LEADS,
            Some(PUBLIC),
            json!({"full_name": "Invoice\u{202E}fdp.exe", "position": "x"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json(),
        json!({"full_name": ["Control characters are not allowed."]})
    );
    let ok = app
        .call(
            "POST",
            LEADS,
            Some(ADMIN),
            Some(json!({"full_name": "Ada", "position": "CTO"})),
            &[
                ("user-agent", "Mozilla/5.0 \u{202E}evil\u{200B}"),
                ("referer", "https://x.example/\u{AD}a"),
            ],
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let info = &ok.json()["client_info"];
    assert_eq!(info["user_agent"], "Mozilla/5.0 evil");
    assert_eq!(info["referrer"], "https://x.example/a");
}

/// Item 12: The docs are served cacheable with an `ETag` (a 304 when it matches), and
/// `API_DOCS=false` turns docs and schema off.
async fn the_docs_are_cacheable_and_can_be_turned_off(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    for path in ["/backend/api/docs/", "/backend/api/schema/"] {
        let a = app.get(path, None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("cache-control"), Some("public, max-age=3600"));
        let etag = a.header("etag").unwrap_or_default().to_owned();
        assert!(etag.starts_with('"'), "{etag:?}");
        let again = app
            .call("GET", path, None, None, &[("if-none-match", &etag)])
            .await;
        assert_eq!(again.status, 304);
        assert!(again.text.is_empty());
        assert_eq!(again.header("x-content-type-options"), Some("nosniff"));
    }
    let off = spawn_with(backend, &[("API_DOCS", "false")]).await;
    for path in ["/backend/api/docs/", "/backend/api/schema/"] {
        let a = off.get(path, None).await;
        assert_eq!(a.status, 404);
        assert_eq!(a.json(), json!({"detail": "Not found."}));
    }
}

/// Item 14: Keys cannot be guessed at the network's speed: failures are counted per address
/// (metrics included), and beyond the limit the address gets 429, even with a valid key,
/// until the window frees; other addresses are unaffected.
async fn failed_authentication_is_throttled_per_address(backend: Backend) {
    let metrics = Metrics::default();
    let app = spawn_observed(
        settings(&[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("THROTTLE_FAILED_AUTH", "3/minute"),
        ]),
        switch(backend.store().await),
        metrics,
    )
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let guess = "not-the-key-0123456789abcdef0123456789";
    for _ in 0..3 {
        let a = app
            .call("GET", LEADS, Some(guess), None, &from("203.0.113.9"))
            .await;
        assert_eq!(a.status, 403);
        assert_eq!(a.json(), json!({"detail": "Invalid API key."}));
    }
    // The metrics endpoint is no oracle either: its failures count the same.
    let a = app
        .call(
            "GET",
            "/backend/metrics/",
            Some(guess),
            None,
            &from("203.0.113.9"),
        )
        .await;
    assert_eq!(a.status, 429, "{}", a.text);
    assert_eq!(a.header("retry-after"), Some("60"));
    let valid = app
        .call("GET", LEADS, Some(ADMIN), None, &from("203.0.113.9"))
        .await;
    assert_eq!(valid.status, 429, "{}", valid.text);
    // A missing key is not a failed guess, and other addresses are unaffected.
    assert_eq!(
        app.call("GET", LEADS, None, None, &from("203.0.113.10"))
            .await
            .status,
        403
    );
    assert_eq!(
        app.call("GET", LEADS, Some(ADMIN), None, &from("203.0.113.10"))
            .await
            .status,
        200
    );
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        app.call("GET", LEADS, Some(ADMIN), None, &from("203.0.113.9"))
            .await
            .status,
        200
    );
    let scrape = app
        .call(
            "GET",
            "/backend/metrics/",
            Some(ADMIN),
            None,
            &from("203.0.113.10"),
        )
        .await
        .text;
    assert!(
        scrape.contains("exit3_auth_refusals_total{reason=\"invalid_key\"} 3"),
        "{scrape}"
    );
    assert!(
        scrape.contains("exit3_auth_refusals_total{reason=\"no_credentials\"} 1"),
        "{scrape}"
    );
    assert!(
        scrape.contains("exit3_throttle_refusals_total{scope=\"failed_auth\"} 2"),
        "{scrape}"
    );
    assert!(!scrape.contains(guess) && !scrape.contains(ADMIN));
}

/// Item 6c: A statement that waits past `DB_STATEMENT_TIMEOUT` (here on a lock another
/// session holds) is cancelled by PostgreSQL: 503, and once the lock is gone the same
/// pool answers again.
#[tokio::test]
async fn a_statement_past_the_database_timeout_answers_503_and_the_pool_recovers() {
    use sqlx::Connection as _;

    let Some(db) = exit3_store_postgres::testing::test_db().await else {
        return;
    };
    let store = exit3_store_postgres::PostgresStore::connect(
        db.options_for()
            .statement_timeout(Some(Duration::from_millis(300))),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_on(settings(&[]), switch(std::sync::Arc::new(store))).await;
    assert_eq!(
        app.post(LEADS, Some(ADMIN), lead_with("a@example.com"))
            .await
            .status,
        201
    );
    let mut blocker = sqlx::PgConnection::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql("BEGIN; LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let blocked = app
        .post(LEADS, Some(ADMIN), lead_with("b@example.com"))
        .await;
    assert_eq!(blocked.status, 503, "{}", blocked.text);
    assert_eq!(
        blocked.json(),
        json!({"detail": "Service temporarily unavailable."})
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for email in ["c@example.com", "d@example.com", "e@example.com"] {
        let a = app.post(LEADS, Some(ADMIN), lead_with(email)).await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let listed = app.get(LEADS, Some(ADMIN)).await.json();
    assert_eq!(listed["count"], 4, "the cancelled insert left nothing");
    drop(app);
    db.drop_database().await;
}

common::on_every_store!(
    email_fields_refuse_markup_literals_and_disguised_disposable_domains,
    real_domains_are_accepted_and_the_lists_are_configurable,
    random_methods_and_paths_do_not_grow_the_metrics,
    ipv6_clients_are_throttled_per_prefix,
    a_request_not_answered_in_time_gets_503,
    a_client_that_never_finishes_its_request_head_is_cut_off,
    list_filters_postgres_cannot_take_are_400,
    bidi_overrides_are_refused_and_headers_cleaned,
    the_docs_are_cacheable_and_can_be_turned_off,
    failed_authentication_is_throttled_per_address,
);
