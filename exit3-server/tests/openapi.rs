//! The OpenAPI document describes what the server really sends: a tour through every
//! operation, answering every status it can, each answer checked against the served
//! document by the harness (`common::openapi`) — success and error bodies, `null`
//! where the schema says `nullable`.

mod common;

use common::{ADMIN, BROKEN, Backend, DOWN, PUBLIC, SetMode, UP, openapi, spawn_with};
use exit3_core::{SubscriberId, store::OutboxStore, testing::at, tokens::ConfirmationToken};
use serde_json::{Value, json};

const V1: &str = "/backend/api/v1";

/// Statuses no test can make an operation answer, with why.
const UNREACHABLE: &[(&str, u16, &str)] = &[];

async fn tour(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let call = |m: &'static str, path: String, key: Option<&'static str>, body: Option<Value>| {
        let app = &app;
        async move { app.call(m, &path, key, body, &[]).await }
    };
    // Successes, with every optional field null and then set.
    let lead = call(
        "POST",
        format!("{V1}/leads/"),
        Some(ADMIN),
        Some(json!({"full_name": "Ada", "position": "CTO"})),
    )
    .await;
    assert_eq!(lead.status, 201, "{}", lead.text);
    let full = call(
        "POST",
        format!("{V1}/leads/"),
        Some(ADMIN),
        Some(
            json!({"full_name": "Grace", "position": "Admiral", "company_name": "Navy",
            "email": "grace@example.com", "phone": "+1 555", "message": "hi",
            "utm_source": "x", "utm_medium": "y", "utm_campaign": "z"}),
        ),
    )
    .await;
    assert_eq!(full.status, 201, "{}", full.text);
    let id = lead.json()["id"].as_i64().unwrap_or_default();
    let lead_url = format!("{V1}/leads/{id}/");
    let public = call(
        "POST",
        format!("{V1}/leads/"),
        Some(PUBLIC),
        Some(json!({"full_name": "Pat", "position": "Dev"})),
    )
    .await;
    assert_eq!(public.status, 201);
    for (m, body) in [
        ("GET", None),
        (
            "PATCH",
            Some(json!({"status": "contacted", "company_name": null})),
        ),
        (
            "PUT",
            Some(json!({"full_name": "Ada L", "position": "CTO"})),
        ),
    ] {
        assert_eq!(
            call(m, lead_url.clone(), Some(ADMIN), body).await.status,
            200
        );
    }
    assert_eq!(
        call("GET", format!("{V1}/leads/?page_size=1"), Some(ADMIN), None)
            .await
            .status,
        200
    );
    let sub = call(
        "POST",
        format!("{V1}/newsletter/"),
        Some(ADMIN),
        Some(json!({"email": "a@example.com"})),
    )
    .await;
    assert_eq!(sub.status, 201);
    let again = call(
        "POST",
        format!("{V1}/newsletter/"),
        Some(PUBLIC),
        Some(json!({"email": "a@example.com", "full_name": "A"})),
    )
    .await;
    assert_eq!(again.status, 200);
    let sid = sub.json()["id"].as_i64().unwrap_or_default();
    let sub_url = format!("{V1}/newsletter/{sid}/");
    assert_eq!(
        call("GET", sub_url.clone(), Some(ADMIN), None).await.status,
        200
    );
    // Confirmed with a token issued as the worker issues one.
    let token = ConfirmationToken::generate();
    let subscriber = SubscriberId::new(sid).unwrap_or_else(|| panic!("id {sid}"));
    let issued = app
        .store
        .issue_confirmation(subscriber, token.hash(), at(1_000_000), at(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(issued.is_some(), "the subscriber should be pending");
    let confirmed = call(
        "POST",
        format!("{V1}/newsletter/confirm/"),
        Some(PUBLIC),
        Some(json!({"token": token.as_str()})),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let unsub = call(
        "POST",
        format!("{V1}/newsletter/unsubscribe/"),
        Some(PUBLIC),
        Some(json!({"email": "a@example.com"})),
    )
    .await;
    assert_eq!(unsub.status, 200);
    let patched = call(
        "PATCH",
        sub_url.clone(),
        Some(ADMIN),
        Some(json!({"full_name": null})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        call("GET", format!("{V1}/newsletter/"), Some(ADMIN), None)
            .await
            .status,
        200
    );
    for path in ["/backend/health/", "/backend/health/live/"] {
        assert_eq!(call("GET", path.into(), None, None).await.status, 200);
    }
    // The spam defence's operations.
    for (m, path) in [
        ("POST", format!("{lead_url}release/")),
        ("POST", format!("{sub_url}release/")),
        ("GET", format!("{V1}/form-token/")),
        ("GET", format!("{V1}/privacy/export/?email=a@example.com")),
        ("GET", format!("{lead_url}history/")),
        ("GET", format!("{V1}/leads/export.csv")),
        ("GET", format!("{V1}/newsletter/export.csv")),
    ] {
        let a = call(m, path.clone(), Some(ADMIN), None).await;
        assert_eq!(a.status, 200, "{m} {path}: {}", a.text);
    }
    let erased = call(
        "POST",
        format!("{V1}/privacy/erase/"),
        Some(ADMIN),
        Some(json!({"email": "nobody@example.com"})),
    )
    .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    let hook = call(
        "POST",
        format!("{V1}/webhooks/"),
        Some(ADMIN),
        Some(json!({"url": "https://hooks.example.com/exit3", "events": ["subscriber.confirmed"]})),
    )
    .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook_url = format!("{V1}/webhooks/{}/", hook.json()["id"]);
    for (m, path, status) in [
        ("GET", format!("{V1}/webhooks/"), 200),
        ("GET", hook_url.clone(), 200),
        ("POST", format!("{hook_url}rotate-secret/"), 200),
        ("POST", format!("{hook_url}ping/"), 202),
        ("GET", format!("{hook_url}deliveries/"), 200),
    ] {
        let a = call(m, path.clone(), Some(ADMIN), None).await;
        assert_eq!(a.status, status, "{m} {path}: {}", a.text);
    }
    let hook_patched = call(
        "PATCH",
        hook_url.clone(),
        Some(ADMIN),
        Some(json!({"description": null, "enabled": false})),
    )
    .await;
    assert_eq!(hook_patched.status, 200, "{}", hook_patched.text);

    // Errors of every kind, on every operation: (method, path, a path with an unknown
    // id or page, a bad body or filter).
    let ops: Vec<(&str, String, String, Option<Value>)> = vec![
        (
            "GET",
            format!("{V1}/leads/?status=bogus"),
            format!("{V1}/leads/?page=99"),
            None,
        ),
        (
            "POST",
            format!("{V1}/leads/"),
            String::new(),
            Some(json!({})),
        ),
        ("GET", lead_url.clone(), format!("{V1}/leads/999999/"), None),
        (
            "PUT",
            lead_url.clone(),
            format!("{V1}/leads/999999/"),
            Some(json!({})),
        ),
        (
            "PATCH",
            lead_url.clone(),
            format!("{V1}/leads/999999/"),
            Some(json!({"email": "x"})),
        ),
        (
            "DELETE",
            lead_url.clone(),
            format!("{V1}/leads/999999/"),
            None,
        ),
        (
            "GET",
            format!("{V1}/newsletter/?status=bogus"),
            format!("{V1}/newsletter/?page=9"),
            None,
        ),
        (
            "POST",
            format!("{V1}/newsletter/"),
            String::new(),
            Some(json!({})),
        ),
        (
            "GET",
            sub_url.clone(),
            format!("{V1}/newsletter/999999/"),
            None,
        ),
        (
            "PATCH",
            sub_url.clone(),
            format!("{V1}/newsletter/999999/"),
            Some(json!({"email": "x"})),
        ),
        (
            "DELETE",
            sub_url.clone(),
            format!("{V1}/newsletter/999999/"),
            None,
        ),
        (
            "POST",
            format!("{V1}/newsletter/unsubscribe/"),
            String::new(),
            Some(json!({})),
        ),
        (
            "POST",
            format!("{V1}/newsletter/confirm/"),
            String::new(),
            Some(json!({"token": "used-or-never-issued"})),
        ),
        (
            "POST",
            format!("{lead_url}release/"),
            format!("{V1}/leads/999999/release/"),
            None,
        ),
        ("GET", format!("{V1}/form-token/"), String::new(), None),
        (
            "GET",
            format!("{V1}/leads/export.csv?status=bogus"),
            String::new(),
            None,
        ),
        (
            "GET",
            format!("{V1}/newsletter/export.csv?status=bogus"),
            String::new(),
            None,
        ),
        (
            "GET",
            format!("{lead_url}history/?page=x"),
            format!("{V1}/leads/999999/history/"),
            None,
        ),
        (
            "POST",
            format!("{sub_url}release/"),
            format!("{V1}/newsletter/999999/release/"),
            None,
        ),
        (
            "GET",
            format!("{V1}/privacy/export/?email=nope"),
            String::new(),
            None,
        ),
        (
            "POST",
            format!("{V1}/privacy/erase/"),
            String::new(),
            Some(json!({"email": "x"})),
        ),
        (
            "GET",
            format!("{V1}/webhooks/"),
            format!("{V1}/webhooks/?page=9"),
            None,
        ),
        (
            "POST",
            format!("{V1}/webhooks/"),
            String::new(),
            Some(json!({"url": "http://10.0.0.1/"})),
        ),
        (
            "GET",
            hook_url.clone(),
            format!("{V1}/webhooks/999999/"),
            None,
        ),
        (
            "PATCH",
            hook_url.clone(),
            format!("{V1}/webhooks/999999/"),
            Some(json!({"events": "*"})),
        ),
        (
            "POST",
            format!("{hook_url}rotate-secret/"),
            format!("{V1}/webhooks/999999/rotate-secret/"),
            None,
        ),
        (
            "POST",
            format!("{hook_url}ping/"),
            format!("{V1}/webhooks/999999/ping/"),
            None,
        ),
        (
            "GET",
            format!("{hook_url}deliveries/"),
            format!("{V1}/webhooks/999999/deliveries/"),
            None,
        ),
        (
            "DELETE",
            hook_url.clone(),
            format!("{V1}/webhooks/999999/"),
            None,
        ),
    ];
    // Throttled: a second app whose admin scope allows one request an hour.
    let throttled = spawn_with(backend, &[("THROTTLE_ADMIN", "1/hour")]).await;
    throttled.get(&format!("{V1}/leads/"), Some(ADMIN)).await;
    // `Invalid host header.`: a third app that allows no host the client sends.
    let hostile = spawn_with(backend, &[("ALLOWED_HOSTS", "exit3.example")]).await;
    for path in ["/backend/health/", "/backend/health/live/"] {
        assert_eq!(hostile.get(path, None).await.status, 400);
    }
    for (m, path, missing, body) in &ops {
        // 403: no key; and the public key on an admin route.
        call(m, path.clone(), None, body.clone()).await;
        call(m, path.clone(), Some(PUBLIC), body.clone()).await;
        // 400: the bad body or filter (a delete: 204, the success not yet seen).
        call(m, path.clone(), Some(ADMIN), body.clone()).await;
        // 404: the unknown id or page.
        if !missing.is_empty() {
            assert_eq!(
                call(m, missing.clone(), Some(ADMIN), body.clone())
                    .await
                    .status,
                404
            );
        }
        // 429 and 400 (host) from the other apps.
        assert_eq!(
            throttled
                .call(m, path, Some(ADMIN), body.clone(), &[])
                .await
                .status,
            429
        );
        assert_eq!(
            hostile
                .call(m, path, Some(ADMIN), body.clone(), &[])
                .await
                .status,
            400
        );
        // 413 and 415, and the other 400s of a body.
        if body.is_some() {
            for (content_type, payload, status) in [
                ("text/plain", "x".to_owned(), 415),
                ("application/json", "{".to_owned(), 400),
                ("application/json", "[1]".to_owned(), 400),
                (
                    "application/json",
                    format!("{{\"x\": \"{}\"}}", "a".repeat(70_000)),
                    413,
                ),
            ] {
                let req = app
                    .http
                    .request(
                        reqwest::Method::from_bytes(m.as_bytes()).unwrap_or_default(),
                        app.url(path),
                    )
                    .header("authorization", format!("Basic {ADMIN}"))
                    .header("content-type", content_type)
                    .body(payload);
                let a = common::send(req).await;
                assert_eq!(a.status, status, "{m} {path} {content_type}: {}", a.text);
                openapi::check(m, path, a.status, a.header("content-type"), &a.text);
            }
        }
        // 500 and 503: the store broken, then down.
        app.store.set(BROKEN);
        assert_eq!(
            call(m, path.clone(), Some(ADMIN), body.clone())
                .await
                .status,
            500
        );
        app.store.set(DOWN);
        assert_eq!(
            call(m, path.clone(), Some(ADMIN), body.clone())
                .await
                .status,
            503
        );
        app.store.set(UP);
    }
    // 422 and 409 of an `Idempotency-Key`, on the two creates.
    common::idempotency::mismatch_and_running(&app).await;
    app.store.set(DOWN);
    assert_eq!(
        call("GET", "/backend/health/".into(), None, None)
            .await
            .status,
        503
    );
    app.store.set(UP);
    let checked = openapi::checked();
    let mut missing = Vec::new();
    for (op, statuses) in openapi::documented() {
        if op.starts_with("legacy_") {
            continue;
        }
        for status in statuses {
            let unreachable = UNREACHABLE.iter().any(|(o, s, _)| *o == op && *s == status);
            if !unreachable && !checked.contains(&(op.clone(), status)) {
                missing.push(format!("{op} {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "answers never checked: {missing:?}");
}

async fn the_document_marks_every_optional_field_nullable(_: Backend) {
    let schemas = &openapi::DOCUMENT["components"]["schemas"];
    for (schema, fields) in [
        (
            "Lead",
            &["company_name", "email", "phone", "message", "client_info"][..],
        ),
        (
            "ClientInfoOut",
            &[
                "ip_address",
                "user_agent",
                "referrer",
                "utm_source",
                "utm_medium",
                "utm_campaign",
            ][..],
        ),
        ("Subscriber", &["full_name", "unsubscribed_at"][..]),
        ("LeadPage", &["next", "previous"][..]),
    ] {
        for field in fields {
            let f = &schemas[schema]["properties"][field];
            assert_eq!(f["nullable"], json!(true), "{schema}.{field}: {f}");
        }
        let required: Vec<&str> = schemas[schema]["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for field in required {
            let f = &schemas[schema]["properties"][field];
            assert!(
                f.get("nullable").is_none(),
                "{schema}.{field} is required but nullable"
            );
        }
    }
}

common::on_every_store!(tour, the_document_marks_every_optional_field_nullable);
#[test]
fn the_checker_refuses_what_the_document_does_not_allow() {
    use openapi::check;
    let lead = json!({"id": 1, "full_name": "A", "position": "B", "company_name": null,
        "email": null, "phone": null, "message": null, "status": "new", "source": "website",
        "category": "other", "client_info": null,
        "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": "2025-01-01T00:00:00.000000Z"});
    let path = "/backend/api/v1/leads/1/";
    let ct = Some("application/json");
    check("GET", path, 200, ct, &lead.to_string());
    for bad in [
        json!({"status": 7}),
        json!({"full_name": null}),
        json!({"surprise": "field"}),
    ] {
        let mut body = lead.clone();
        if let (Some(b), Some(extra)) = (body.as_object_mut(), bad.as_object()) {
            b.extend(extra.clone());
        }
        let outcome = std::panic::catch_unwind(|| check("GET", path, 200, ct, &body.to_string()));
        assert!(outcome.is_err(), "{bad} passed");
    }
    let undocumented = std::panic::catch_unwind(|| check("GET", path, 418, ct, "{}"));
    assert!(undocumented.is_err());
}
