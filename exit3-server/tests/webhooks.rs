//! Webhooks end to end (capture.md §3) against real parts: the server on 127.0.0.1 with
//! its delivery worker, a real HTTP receiver on 127.0.0.1 that checks every signature,
//! real mail to an SMTP sink for the confirmation link. Every answer is also checked
//! against the served OpenAPI document.

// Test helpers outside `#[test]` functions: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{
    ADMIN, Backend, PUBLIC,
    delivery::{spawn_delivering, wait_for_mail},
    on_every_store,
};
use exit3_delivery::testing::{Answer, WebhookReceiver};
use serde_json::{Value, json};

const WEBHOOKS: &str = "/backend/api/v1/webhooks/";
const WAIT: Duration = Duration::from_secs(15);

async fn subscriber_confirmed_and_unsubscribed_reach_the_receiver(backend: Backend) {
    let receiver = WebhookReceiver::start(vec![Answer::Status(200)])
        .await
        .unwrap();
    let d = spawn_delivering(backend.store().await, &[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let app = &d.app;

    // Only the admin key manages endpoints.
    let refused = app
        .post(WEBHOOKS, Some(PUBLIC), json!({"url": receiver.url()}))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let bad = app
        .post(
            WEBHOOKS,
            Some(ADMIN),
            json!({"url": "ftp://example.com/x", "events": ["nope"]}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["url"], json!(["Enter a public https URL."]));
    assert_eq!(
        bad.json()["events"],
        json!(["\"nope\" is not a valid choice."])
    );

    let made = app
        .post(
            WEBHOOKS,
            Some(ADMIN),
            json!({"url": receiver.url(), "description": "CRM"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let made = made.json();
    let id = made["id"].as_i64().unwrap();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(made["events"], json!(["*"]));
    // The secret is shown only when made.
    let read = app
        .get(&format!("{WEBHOOKS}{id}/"), Some(ADMIN))
        .await
        .json();
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["description"], "CRM");

    // A subscriber confirms through the link of the real mail.
    let sub = app
        .post(
            "/backend/api/v1/newsletter/",
            Some(PUBLIC),
            json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.text);
    let mail = wait_for_mail(&d.sink, 1).await.remove(0);
    let link = mail.link("http://");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let confirmed = app
        .post(
            "/backend/api/v1/newsletter/confirm/",
            Some(PUBLIC),
            json!({ "token": token }),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);

    let calls = receiver.wait_for(1, WAIT).await;
    assert_eq!(calls.len(), 1, "one event: subscriber.confirmed");
    assert!(calls[0].signed_with(&secret));
    let event: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(event["type"], "subscriber.confirmed");
    // `data` is the subscriber exactly as the admin API shows it.
    let sid = event["data"]["id"].as_i64().unwrap();
    let shown = app
        .get(&format!("/backend/api/v1/newsletter/{sid}/"), Some(ADMIN))
        .await
        .json();
    assert_eq!(event["data"], shown);

    // Leaving by the mail's one-click link.
    let out = common::send(
        app.http
            .post(mail.unsubscribe_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click"),
    )
    .await;
    assert_eq!(out.status, 200);
    let calls = receiver.wait_for(2, WAIT).await;
    let event: Value = serde_json::from_str(&calls[1].body).unwrap();
    assert_eq!(event["type"], "subscriber.unsubscribed");
    assert_eq!(event["data"]["consent"]["unsubscribe_method"], "one_click");

    // Rotation: a new secret, and for 24 h both sign.
    let rotated = app
        .post(
            &format!("{WEBHOOKS}{id}/rotate-secret/"),
            Some(ADMIN),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let fresh = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(fresh, secret);
    let ping = app
        .post(&format!("{WEBHOOKS}{id}/ping/"), Some(ADMIN), json!({}))
        .await;
    assert_eq!(ping.status, 202, "{}", ping.text);
    let calls = receiver.wait_for(3, WAIT).await;
    let ping = &calls[2];
    assert!(ping.signed_with(&fresh) && ping.signed_with(&secret));
    assert_eq!(
        ping.header("webhook-signature").unwrap().split(' ').count(),
        2
    );

    // The deliveries, newest first, all delivered with the receiver's 200.
    let list = app
        .get(&format!("{WEBHOOKS}{id}/deliveries/"), Some(ADMIN))
        .await
        .json();
    assert_eq!(list["count"], 3, "{list}");
    let types: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ping", "subscriber.unsubscribed", "subscriber.confirmed"]
    );
    assert!(list["results"].as_array().unwrap().iter().all(|d| {
        d["status"] == "delivered" && d["last_status_code"] == 200 && d["attempts"] == 1
    }));

    // Changing and deleting.
    let off = common::send(
        app.http
            .patch(app.url(&format!("{WEBHOOKS}{id}/")))
            .header("authorization", format!("Basic {ADMIN}"))
            .header("content-type", "application/json")
            .body(json!({"enabled": false}).to_string()),
    )
    .await;
    assert_eq!(
        (off.status, off.json()["enabled"].clone()),
        (200, json!(false))
    );
    let listed = app.get(WEBHOOKS, Some(ADMIN)).await.json();
    assert_eq!(listed["count"], 1);
    let gone = common::send(
        app.http
            .delete(app.url(&format!("{WEBHOOKS}{id}/")))
            .header("authorization", format!("Basic {ADMIN}")),
    )
    .await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        app.get(&format!("{WEBHOOKS}{id}/"), Some(ADMIN))
            .await
            .status,
        404
    );
}

on_every_store!(subscriber_confirmed_and_unsubscribed_reach_the_receiver);
