//! `Idempotency-Key` (capture.md §2) over HTTP on every store: replays, the 422 and 409
//! of the table, what is kept and what is not, and two server instances sharing one
//! PostgreSQL database that see the same key at the same moment (exactly one lead).
//! Every answer is checked against the served OpenAPI document.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ADMIN, Backend, PUBLIC, on_every_store, settings, spawn_on, spawn_with, switch};
use serde_json::{Value, json};

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";

async fn post_with_key(
    app: &common::TestApp,
    path: &str,
    key: &str,
    body: Value,
) -> common::Answer {
    app.call(
        "POST",
        path,
        Some(PUBLIC),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

async fn lead_count(app: &common::TestApp) -> u64 {
    app.get(LEADS, Some(ADMIN)).await.json()["count"]
        .as_u64()
        .unwrap()
}

async fn a_retry_gets_the_first_answer_and_creates_nothing(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let body = json!({"full_name": "Ada", "position": "CTO"});
    let first = post_with_key(&app, LEADS, "8e03978e-40d5", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_with_key(&app, LEADS, "8e03978e-40d5", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text, "byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A quoted structured-field string is the same key.
    let quoted = post_with_key(&app, LEADS, "\"8e03978e-40d5\"", body.clone()).await;
    assert_eq!(quoted.header("idempotent-replayed"), Some("true"));
    assert_eq!(lead_count(&app).await, 1);

    // The same key with another body, or on another route, is not the same request.
    let other = post_with_key(
        &app,
        LEADS,
        "8e03978e-40d5",
        json!({"full_name": "Bob", "position": "CEO"}),
    )
    .await;
    assert_eq!(other.status, 422, "{}", other.text);
    assert_eq!(
        other.json(),
        json!({"detail": "This Idempotency-Key was used with a different request."})
    );
    let elsewhere = post_with_key(&app, NEWSLETTER, "8e03978e-40d5", body).await;
    assert_eq!(elsewhere.status, 422);
    assert_eq!(lead_count(&app).await, 1);

    // Without a key, every request creates.
    let plain = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(json!({"full_name": "Ada", "position": "CTO"})),
            &[],
        )
        .await;
    assert_eq!(plain.status, 201);
    assert_eq!(lead_count(&app).await, 2);
}

async fn bad_keys_are_400_and_validation_failures_are_kept(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    for bad in ["a b", &"k".repeat(256), "\"unterminated", "ключ"] {
        let a = post_with_key(&app, LEADS, bad, json!({"full_name": "A", "position": "B"})).await;
        assert_eq!(a.status, 400, "{bad:?}: {}", a.text);
        assert_eq!(
            a.json(),
            json!({"detail": "Invalid Idempotency-Key header."})
        );
    }
    assert_eq!(lead_count(&app).await, 0);

    let invalid = json!({"position": "B"});
    let first = post_with_key(&app, LEADS, "k-400", invalid.clone()).await;
    assert_eq!(first.status, 400);
    let again = post_with_key(&app, LEADS, "k-400", invalid).await;
    assert_eq!(
        (again.status, again.header("idempotent-replayed")),
        (400, Some("true"))
    );
    assert_eq!(again.text, first.text);

    // The subscription form keeps its answer too.
    let sub = json!({"email": "ada@example.com"});
    let first = post_with_key(&app, NEWSLETTER, "k-sub", sub.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post_with_key(&app, NEWSLETTER, "k-sub", sub).await;
    assert_eq!(
        (again.status, again.header("idempotent-replayed")),
        (201, Some("true"))
    );
}

async fn refusals_are_not_kept(backend: Backend) {
    let app = spawn_with(backend, &[("THROTTLE_LEAD_CREATE", "1/hour")]).await;
    let ok = post_with_key(
        &app,
        LEADS,
        "k-1",
        json!({"full_name": "A", "position": "B"}),
    )
    .await;
    assert_eq!(ok.status, 201);
    let throttled = post_with_key(
        &app,
        LEADS,
        "k-2",
        json!({"full_name": "C", "position": "D"}),
    )
    .await;
    assert_eq!(throttled.status, 429, "{}", throttled.text);
    // Not kept: the same key with another body is throttled again, not a mismatch.
    let retry = post_with_key(
        &app,
        LEADS,
        "k-2",
        json!({"full_name": "E", "position": "F"}),
    )
    .await;
    assert_eq!(retry.status, 429, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), None);
    // A replay is not throttled (it creates nothing).
    let replay = post_with_key(
        &app,
        LEADS,
        "k-1",
        json!({"full_name": "A", "position": "B"}),
    )
    .await;
    assert_eq!(
        (replay.status, replay.header("idempotent-replayed")),
        (201, Some("true"))
    );
    // An unknown key is refused as without the header, and nothing is kept for it.
    let denied = app
        .call(
            "POST",
            LEADS,
            Some("not-a-key"),
            Some(json!({})),
            &[("idempotency-key", "k-3")],
        )
        .await;
    assert_eq!(denied.status, 403);
}

on_every_store!(
    a_retry_gets_the_first_answer_and_creates_nothing,
    bad_keys_are_400_and_validation_failures_are_kept,
    refusals_are_not_kept,
);

/// Two instances over one database, many identical requests at once spread over both:
/// exactly one lead; every other answer is the replay or the 409 of a running request.
#[tokio::test]
async fn two_instances_given_one_key_at_once_create_one_lead() {
    let Some(db) = exit3_store_postgres::testing::test_db().await else {
        return;
    };
    let one = spawn_on(settings(&[]), switch(Arc::new(db.store().await))).await;
    let two = spawn_on(settings(&[]), switch(Arc::new(db.store().await))).await;
    let body = json!({"full_name": "Ada", "position": "CTO"});
    let answers = futures_util::future::join_all((0..12).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        post_with_key(app, LEADS, "one-key-two-servers", body.clone())
    }))
    .await;
    let fresh = answers
        .iter()
        .filter(|a| a.status == 201 && a.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one request ran");
    for a in &answers {
        match a.status {
            201 => {}
            409 => {
                assert_eq!(a.header("retry-after"), Some("1"));
                assert_eq!(
                    a.json(),
                    json!({"detail": "A request with this Idempotency-Key is being processed."})
                );
            }
            other => panic!("unexpected {other}: {}", a.text),
        }
    }
    assert_eq!(lead_count(&one).await, 1);
    assert_eq!(lead_count(&two).await, 1);
    db.drop_database().await;
}
