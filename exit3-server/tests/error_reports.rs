//! Error reports end to end: the real server with `SENTRY_DSN` pointing at a local HTTP
//! listener that plays Sentry; the envelopes it receives are parsed and checked for what
//! must be in them (route, request id, status) and what must never be (keys, bodies,
//! headers, `client_info`).
//!
//! One test in this binary: the Sentry client and the subscriber are process-global.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{
    ADMIN, BROKEN, DOWN, PANICKING, PUBLIC, SetMode, UP, settings, spawn_observed, switch,
};
use exit3_server::{
    Metrics,
    app::{error_reports, logging},
};
use exit3_store_memory::MemoryStore;
use serde_json::{Value, json};

/// What the fake Sentry received: one request body per envelope.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal HTTP/1.1 server that stores every request's path and body and answers 200.
fn fake_sentry() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let received: Received = Arc::default();
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            if let Ok(mut r) = sink.lock() {
                r.push((path, body));
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (port, received)
}

/// The events in an envelope (items of type `event`).
fn events(envelope: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(envelope);
    let mut lines = text.lines().skip(1); // the envelope header
    let mut out = Vec::new();
    while let Some(header) = lines.next() {
        let header: Value = serde_json::from_str(header).unwrap_or(Value::Null);
        let Some(payload) = lines.next() else { break };
        if header["type"] == "event" {
            out.push(
                serde_json::from_str(payload)
                    .unwrap_or_else(|e| panic!("event payload not JSON ({e}): {payload}")),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundreds_and_panics_are_reported_with_route_request_id_and_status_and_nothing_personal()
 {
    let (port, received) = fake_sentry();
    let dsn = format!("http://publickey@127.0.0.1:{port}/1");
    let settings = settings(&[("SENTRY_DSN", &dsn), ("SENTRY_ENVIRONMENT", "test")]);
    let guard = error_reports::init(&settings);
    assert!(guard.is_some() && error_reports::enabled());
    let subscriber = logging::subscriber(&settings).unwrap_or_else(|e| panic!("{e}"));
    let _ = tracing::subscriber::set_global_default(subscriber);

    let store = switch(Arc::new(MemoryStore::new()));
    let app = spawn_observed(settings, store.clone(), Metrics::default()).await;
    let personal = json!({
        "full_name": "Ada Secretname",
        "position": "CTO",
        "email": "ada.secret@example.com",
        "message": "my private message",
        "utm_source": "utm-secret-source",
    });
    let headers = |id: &'static str| {
        [
            ("x-request-id", id),
            ("user-agent", "UA-Secret/1.0"),
            ("referer", "https://referrer-secret.example/page"),
            ("x-forwarded-for", "203.0.113.77"),
        ]
    };
    let leads = "/backend/api/v1/leads/";

    // A healthy request is not reported.
    let ok = app
        .call(
            "POST",
            leads,
            Some(ADMIN),
            Some(personal.clone()),
            &headers("req-ok"),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);

    store.set(BROKEN);
    let broken = app
        .call(
            "POST",
            leads,
            Some(PUBLIC),
            Some(personal.clone()),
            &headers("req-broken"),
        )
        .await;
    assert_eq!(broken.status, 500, "{}", broken.text);

    store.set(PANICKING);
    let panicked = app
        .call(
            "PATCH",
            "/backend/api/v1/leads/1",
            Some(ADMIN),
            Some(personal.clone()),
            &headers("req-panic"),
        )
        .await;
    assert_eq!(panicked.status, 500, "{}", panicked.text);

    store.set(DOWN);
    let down = app
        .call("GET", leads, Some(ADMIN), None, &headers("req-down"))
        .await;
    assert_eq!(down.status, 503);
    // The readiness probe's 503 is not reported (it would flood during an outage).
    assert_eq!(app.get("/backend/health/", None).await.status, 503);
    store.set(UP);

    if let Some(client) = sentry::Hub::main().client() {
        client.flush(Some(Duration::from_secs(5)));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let envelopes = loop {
        let got = received.lock().map(|r| r.clone()).unwrap_or_default();
        let count: usize = got.iter().map(|(_, b)| events(b).len()).sum();
        if count >= 3 || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        envelopes.iter().all(|(p, _)| p == "/api/1/envelope/"),
        "{:?}",
        envelopes.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let all: Vec<Value> = envelopes.iter().flat_map(|(_, b)| events(b)).collect();
    let by_id = |id: &str| {
        let found: Vec<&Value> = all
            .iter()
            .filter(|e| e["tags"]["request_id"] == id)
            .collect();
        assert_eq!(found.len(), 1, "events for {id}: {all:#?}");
        found[0].clone()
    };
    assert_eq!(all.len(), 3, "{all:#?}");

    let e = by_id("req-broken");
    assert_eq!(e["tags"]["route"], "/backend/api/v1/leads/");
    assert_eq!(e["tags"]["method"], "POST");
    assert_eq!(e["tags"]["status"], "500");
    assert_eq!(e["environment"], "test");
    // The error logged while the request ran comes along as a breadcrumb.
    assert!(
        e["breadcrumbs"].to_string().contains("disk on fire"),
        "{e:#}"
    );

    let e = by_id("req-panic");
    assert_eq!(e["tags"]["route"], "/backend/api/v1/leads/{id}/");
    assert_eq!(e["tags"]["status"], "500");
    assert_eq!(e["tags"]["panic"], "true");
    assert!(
        e.to_string().contains("the store exploded (test panic)"),
        "{e:#}"
    );

    let e = by_id("req-down");
    assert_eq!(e["tags"]["status"], "503");
    assert_eq!(e["tags"]["route"], "/backend/api/v1/leads/");

    for (_, body) in &envelopes {
        let raw = String::from_utf8_lossy(body);
        for secret in [
            ADMIN,
            PUBLIC,
            "Ada Secretname",
            "ada.secret@example.com",
            "my private message",
            "utm-secret-source",
            "UA-Secret",
            "referrer-secret",
            "203.0.113.77",
            "client_info",
            "ip_address",
            "authorization",
        ] {
            assert!(
                !raw.contains(secret),
                "{secret:?} leaked into a report: {raw}"
            );
        }
    }
    for e in &all {
        assert!(
            e.get("request").is_none() && e.get("user").is_none(),
            "{e:#}"
        );
    }
    drop(guard);
}
