//! The conformance of [`WebhookStore`](crate::store::WebhookStore): endpoints keep what
//! they are given, and every subscriber change fans its event out, in the same call, to
//! exactly the enabled endpoints that listen for it.

use serde_json::{Value, json};

use super::{at, subscribe_request};
use crate::{
    Policy,
    domain::{RequestFacts, SubscriberPatch, UnsubscribeMethod},
    events::EventType,
    input::Payload,
    outbox::{AttemptOutcome, Claimed, DeliveryStatus, OutboxMessage},
    query::PageRequest,
    store::{ConfirmOutcome, DynStore, UnsubscribeTarget},
    tokens::ConfirmationToken,
    webhooks::{NewWebhook, WebhookEndpoint, WebhookId, WebhookPatch, WebhookSecret},
};

fn new_webhook(body: Value) -> NewWebhook {
    let payload = Payload::from_json(body).expect("an object");
    NewWebhook::parse(&payload, false).expect("a valid webhook")
}

async fn endpoint(store: &DynStore, body: Value) -> WebhookEndpoint {
    store
        .create_webhook(&new_webhook(body), &WebhookSecret::generate(), at(0))
        .await
        .expect("create webhook")
}

/// The webhook messages due at `t`, by endpoint, with their event types and bodies (they
/// are claimed, so each is seen once).
async fn webhooks_due(store: &DynStore, t: i64) -> Vec<(WebhookId, EventType, Value)> {
    let claimed: Vec<Claimed> = store
        .claim_due(at(t), 1000, at(t + 60))
        .await
        .expect("claim");
    let mut seen: Vec<(WebhookId, EventType, Value)> = claimed
        .into_iter()
        .filter_map(|c| match c.message {
            OutboxMessage::Webhook {
                endpoint,
                event_type,
                body,
                ..
            } => Some((
                endpoint,
                event_type,
                serde_json::from_str(&body).expect("JSON"),
            )),
            _ => None,
        })
        .collect();
    seen.sort_by_key(|(e, t, _)| (*e, *t));
    seen
}

/// Endpoints keep their URL, filter, note and secret; changes, rotation (the previous
/// secret kept with its end) and deletion work; unknown ids are `None`/`false`.
pub async fn webhook_endpoints_round_trip(store: DynStore) {
    let a = endpoint(
        &store,
        json!({"url": "https://hooks.example.com/a", "events": ["lead.created"], "description": "CRM"}),
    )
    .await;
    let b = endpoint(&store, json!({"url": "https://hooks.example.com/b"})).await;
    assert!(b.id > a.id);
    assert_eq!(a.url.as_str(), "https://hooks.example.com/a");
    assert_eq!(a.events.names(), ["lead.created"]);
    assert_eq!((a.description.as_str(), a.enabled), ("CRM", true));
    assert_eq!(b.events.names(), ["*"]);
    assert_eq!(store.get_webhook(a.id).await.expect("get"), Some(a.clone()));
    let page = store
        .list_webhooks(PageRequest::default())
        .await
        .expect("list");
    assert_eq!(page.count, 2);
    assert_eq!(page.items, vec![a.clone(), b.clone()]);

    let patch = WebhookPatch {
        enabled: Some(false),
        description: Some("off for now".into()),
        ..WebhookPatch::default()
    };
    let changed = store
        .update_webhook(a.id, &patch, at(5))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (
            changed.enabled,
            changed.description.as_str(),
            changed.updated_at
        ),
        (false, "off for now", at(5))
    );
    assert_eq!(changed.url, a.url);

    let fresh = WebhookSecret::generate();
    let rotated = store
        .rotate_webhook_secret(a.id, &fresh, at(100), at(6))
        .await
        .expect("rotate")
        .expect("exists");
    assert_eq!(rotated.secret, fresh);
    assert_eq!(rotated.previous_secret, Some((a.secret.clone(), at(100))));
    assert_eq!(rotated.live_secrets(at(99)), vec![&fresh, &a.secret]);
    assert_eq!(rotated.live_secrets(at(100)), vec![&fresh]);

    assert!(store.delete_webhook(a.id).await.expect("delete"));
    assert!(!store.delete_webhook(a.id).await.expect("delete again"));
    assert_eq!(store.get_webhook(a.id).await.expect("get"), None);
    assert_eq!(
        store
            .update_webhook(a.id, &patch, at(7))
            .await
            .expect("update"),
        None
    );
    assert!(
        store
            .list_deliveries(a.id, PageRequest::default())
            .await
            .expect("deliveries")
            .is_none()
    );
}

/// A subscriber's confirmation (or creation active) and its unsubscribe are fanned out,
/// in the same call, to each enabled endpoint that listens — and to no other; a call
/// that changes nothing announces nothing. Deliveries list what was queued and what the
/// last attempt got.
pub async fn subscriber_events_fan_out_with_their_change(store: DynStore) {
    let all = endpoint(&store, json!({"url": "https://hooks.example.com/all"})).await;
    let leads_only = endpoint(
        &store,
        json!({"url": "https://hooks.example.com/leads", "events": ["lead.created"]}),
    )
    .await;
    let unsubscribes = endpoint(
        &store,
        json!({"url": "https://hooks.example.com/u", "events": ["subscriber.unsubscribed"]}),
    )
    .await;
    let off = endpoint(&store, json!({"url": "https://hooks.example.com/off"})).await;
    let disable = WebhookPatch {
        enabled: Some(false),
        ..WebhookPatch::default()
    };
    store
        .update_webhook(off.id, &disable, at(0))
        .await
        .expect("disable");

    // Without double opt-in: active at once, confirmed at once.
    let (bob, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "bob@example.com"}), false),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("subscribe");
    let due = webhooks_due(&store, 1).await;
    assert_eq!(
        due.iter().map(|(e, t, _)| (*e, *t)).collect::<Vec<_>>(),
        vec![(all.id, EventType::SubscriberConfirmed)]
    );
    let body = &due[0].2;
    assert_eq!(body["type"], "subscriber.confirmed");
    assert_eq!(body["data"]["id"], bob.id.get());
    assert_eq!(body["data"]["email"], "bob@example.com");
    assert_eq!(body["data"]["status"], "active");
    // Subscribing again changes nothing: no event.
    store
        .subscribe(
            &subscribe_request(json!({"email": "bob@example.com"}), false),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("again");
    assert_eq!(webhooks_due(&store, 2).await, vec![]);

    // With double opt-in: nothing until the link is followed.
    let (ada, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), true),
            &crate::Actor::System,
            at(3),
        )
        .await
        .expect("subscribe");
    assert_eq!(webhooks_due(&store, 3).await, vec![]);
    let token = ConfirmationToken::generate();
    store
        .issue_confirmation(ada.id, token.hash(), at(100), at(4))
        .await
        .expect("issue");
    let facts = RequestFacts::default();
    let outcome = store
        .confirm(token.hash(), &facts, &crate::Actor::System, at(5))
        .await
        .expect("confirm");
    assert!(matches!(outcome, ConfirmOutcome::Confirmed(_)));
    let due = webhooks_due(&store, 5).await;
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].0, due[0].1),
        (all.id, EventType::SubscriberConfirmed)
    );
    assert_eq!(
        due[0].2["data"]["confirmed_at"],
        json!(crate::clock::to_rfc3339_micros(at(5)))
    );
    // A double click: no second event.
    store
        .confirm(token.hash(), &facts, &crate::Actor::System, at(6))
        .await
        .expect("again");
    assert_eq!(webhooks_due(&store, 6).await, vec![]);

    // Leaving: to `*` and to the endpoint of unsubscribes, once.
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Id(ada.id),
                UnsubscribeMethod::Link,
                &crate::Actor::System,
                at(7)
            )
            .await
            .expect("unsubscribe")
    );
    let due = webhooks_due(&store, 7).await;
    assert_eq!(
        due.iter().map(|(e, t, _)| (*e, *t)).collect::<Vec<_>>(),
        vec![
            (all.id, EventType::SubscriberUnsubscribed),
            (unsubscribes.id, EventType::SubscriberUnsubscribed)
        ]
    );
    assert_eq!(due[0].2["data"]["consent"]["unsubscribe_method"], "link");
    store
        .unsubscribe(
            UnsubscribeTarget::Id(ada.id),
            UnsubscribeMethod::Link,
            &crate::Actor::System,
            at(8),
        )
        .await
        .expect("again");
    assert_eq!(webhooks_due(&store, 8).await, vec![]);

    // Staff bringing a subscriber back: confirmed.
    let payload = Payload::from_json(json!({"status": "active"})).expect("an object");
    let patch = SubscriberPatch::parse(&payload, &Policy::default()).expect("a patch");
    store
        .update_subscriber(ada.id, &patch, &crate::Actor::System, at(9))
        .await
        .expect("patch");
    let due = webhooks_due(&store, 9).await;
    assert_eq!(
        due.iter().map(|(e, t, _)| (*e, *t)).collect::<Vec<_>>(),
        vec![(all.id, EventType::SubscriberConfirmed)]
    );
    assert!(
        store
            .list_deliveries(leads_only.id, PageRequest::default())
            .await
            .expect("deliveries")
            .is_some_and(|p| p.count == 0)
    );

    // The deliveries of `all`: newest first, with the last attempt's outcome.
    let page = store
        .list_deliveries(all.id, PageRequest::default())
        .await
        .expect("deliveries")
        .expect("exists");
    assert_eq!(page.count, 4);
    let newest = &page.items[0];
    assert_eq!(newest.event_type, EventType::SubscriberConfirmed);
    assert!(newest.message_id.starts_with("msg_"));
    assert_eq!(newest.attempts, 1);
    let outcome = AttemptOutcome::Retry {
        at: at(20),
        error: "HTTP 500".into(),
    };
    assert!(
        store
            .record_attempt(newest.id, 1, &outcome, Some(500), at(10))
            .await
            .expect("record")
    );
    let page = store
        .list_deliveries(all.id, PageRequest::default())
        .await
        .expect("deliveries")
        .expect("exists");
    let newest = &page.items[0];
    assert_eq!(
        (
            newest.status,
            newest.last_status_code,
            newest.last_error.as_deref(),
            newest.next_attempt_at
        ),
        (
            DeliveryStatus::Pending,
            Some(500),
            Some("HTTP 500"),
            Some(at(20))
        )
    );
}

/// A message queued for one endpoint (a ping) goes to it alone; an unknown endpoint
/// queues nothing.
pub async fn webhook_pings_go_to_one_endpoint(store: DynStore) {
    let a = endpoint(&store, json!({"url": "https://hooks.example.com/a"})).await;
    let b = endpoint(&store, json!({"url": "https://hooks.example.com/b"})).await;
    let event = crate::events::Event::ping(at(1));
    let ping = OutboxMessage::Webhook {
        endpoint: b.id,
        message_id: crate::webhooks::new_message_id(),
        event_type: EventType::Ping,
        body: event.body(),
    };
    assert!(
        store
            .queue_webhook(b.id, &ping, at(1))
            .await
            .expect("queue")
    );
    let due = webhooks_due(&store, 1).await;
    assert_eq!(
        due.iter().map(|(e, t, _)| (*e, *t)).collect::<Vec<_>>(),
        vec![(b.id, EventType::Ping)]
    );
    assert!(store.delete_webhook(a.id).await.expect("delete"));
    assert!(
        !store
            .queue_webhook(a.id, &ping, at(2))
            .await
            .expect("queue")
    );
}
