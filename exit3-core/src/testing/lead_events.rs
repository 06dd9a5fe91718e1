//! The conformance of the lead events (capture.md §3): `lead.created` with its staff
//! notifications, `lead.updated` and `lead.deleted`, each written in the same store call
//! as its change and fanned out to exactly the enabled endpoints that listen.

use serde_json::{Value, json};

use super::{at, new_lead};
use crate::{
    events::{EventType, LeadEffects, lead_json},
    input::Payload,
    outbox::OutboxMessage,
    store::DynStore,
    webhooks::{NewWebhook, WebhookId, WebhookPatch, WebhookSecret},
};

async fn endpoint(store: &DynStore, body: Value) -> WebhookId {
    let payload = Payload::from_json(body).expect("an object");
    let webhook = NewWebhook::parse(&payload, false).expect("a valid webhook");
    store
        .create_webhook(&webhook, &WebhookSecret::generate(), at(0))
        .await
        .expect("create webhook")
        .id
}

/// What is due at `t` (claimed, so each is seen once): webhook messages as
/// `(endpoint, type, message id, body)` and notifications as `(to, body)`, sorted.
#[allow(clippy::type_complexity)]
async fn due(
    store: &DynStore,
    t: i64,
) -> (
    Vec<(WebhookId, EventType, String, Value)>,
    Vec<(String, Value)>,
) {
    let claimed = store
        .claim_due(at(t), 1000, at(t + 60))
        .await
        .expect("claim");
    let (mut hooks, mut mails) = (Vec::new(), Vec::new());
    for claim in claimed {
        match claim.message {
            OutboxMessage::Webhook {
                endpoint,
                event_type,
                message_id,
                body,
            } => hooks.push((
                endpoint,
                event_type,
                message_id,
                serde_json::from_str(&body).expect("JSON"),
            )),
            OutboxMessage::LeadNotification { to, body } => {
                mails.push((to, serde_json::from_str(&body).expect("JSON")));
            }
            other => panic!("unexpected message {other:?}"),
        }
    }
    hooks.sort_by_key(|(e, ..)| *e);
    mails.sort_by(|a, b| a.0.cmp(&b.0));
    (hooks, mails)
}

/// A new lead's `lead.created` goes to each enabled endpoint that listens (one message
/// id, the body with the stored lead and its id) and its notification to each staff
/// address, in the insert itself; a silent insert (quarantine) sends nothing; changes
/// and deletions announce `lead.updated` and `lead.deleted`, and a deletion of nothing
/// announces nothing.
pub async fn lead_events_fan_out_with_their_change(store: DynStore) {
    let all = endpoint(&store, json!({"url": "https://hooks.example.com/all"})).await;
    let created = endpoint(
        &store,
        json!({"url": "https://hooks.example.com/c", "events": ["lead.created"]}),
    )
    .await;
    let changes = endpoint(
        &store,
        json!({"url": "https://hooks.example.com/u",
               "events": ["lead.updated", "lead.deleted"]}),
    )
    .await;
    let off = endpoint(&store, json!({"url": "https://hooks.example.com/off"})).await;
    let disable = WebhookPatch {
        enabled: Some(false),
        ..WebhookPatch::default()
    };
    store
        .update_webhook(off, &disable, at(0))
        .await
        .expect("disable");

    let staff = LeadEffects {
        notify: vec!["sales@exit3.agency".into(), "boss@exit3.agency".into()],
        announce: true,
    };
    let lead = store
        .insert_lead(
            &new_lead(json!({"full_name": "Ada \"id\":1", "position": "CTO",
                             "email": "ada@example.com", "company_name": "Engines"})),
            &staff,
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("insert");
    let (hooks, mails) = due(&store, 1).await;
    let expected = json!({
        "type": "lead.created",
        "timestamp": "2025-01-01T00:00:01.000000Z",
        "data": lead_json(&lead),
    });
    assert_eq!(
        hooks.iter().map(|(e, t, ..)| (*e, *t)).collect::<Vec<_>>(),
        vec![
            (all, EventType::LeadCreated),
            (created, EventType::LeadCreated)
        ]
    );
    assert!(
        hooks.iter().all(|(.., body)| *body == expected),
        "{hooks:?}"
    );
    assert_eq!(hooks[0].2, hooks[1].2, "one webhook-id for one event");
    assert!(hooks[0].2.starts_with("msg_"));
    assert_eq!(
        mails,
        vec![
            ("boss@exit3.agency".to_owned(), expected.clone()),
            ("sales@exit3.agency".to_owned(), expected.clone()),
        ]
    );

    store
        .insert_lead(
            &new_lead(json!({"full_name": "Bot", "position": "Spam"})),
            &LeadEffects::silent(),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("insert quietly");
    assert_eq!(due(&store, 2).await, (vec![], vec![]));

    let patch = crate::LeadPatch::default().with_status(crate::LeadStatus::Contacted);
    let changed = store
        .update_lead(lead.id, &patch, &crate::Actor::System, at(3))
        .await
        .expect("update")
        .expect("exists");
    let (hooks, mails) = due(&store, 3).await;
    assert!(mails.is_empty());
    assert_eq!(
        hooks.iter().map(|(e, t, ..)| (*e, *t)).collect::<Vec<_>>(),
        vec![
            (all, EventType::LeadUpdated),
            (changes, EventType::LeadUpdated)
        ]
    );
    assert_eq!(hooks[0].3["data"], lead_json(&changed));
    assert_eq!(hooks[0].3["data"]["status"], "contacted");

    assert!(
        store
            .delete_lead(lead.id, &crate::Actor::System, at(4))
            .await
            .expect("delete")
    );
    let (hooks, _) = due(&store, 4).await;
    assert_eq!(
        hooks.iter().map(|(e, t, ..)| (*e, *t)).collect::<Vec<_>>(),
        vec![
            (all, EventType::LeadDeleted),
            (changes, EventType::LeadDeleted)
        ]
    );
    assert_eq!(hooks[0].3["data"], json!({"id": lead.id.get()}));
    assert_eq!(hooks[0].3["timestamp"], "2025-01-01T00:00:04.000000Z");

    assert!(
        !store
            .delete_lead(lead.id, &crate::Actor::System, at(5))
            .await
            .expect("delete again")
    );
    assert!(
        store
            .update_lead(lead.id, &patch, &crate::Actor::System, at(5))
            .await
            .expect("update")
            .is_none()
    );
    assert_eq!(due(&store, 5).await, (vec![], vec![]));
}
