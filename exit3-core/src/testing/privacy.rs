//! The conformance of one person's export and erasure (privacy.md §1).

use serde_json::json;

use super::{at, due, new_lead, subscribe_request};
use crate::{
    events::{Event, EventType, LeadEffects},
    input::Payload,
    outbox::DeliveryStatus,
    privacy::{Erased, Person},
    store::DynStore,
    webhooks::{NewWebhook, WebhookSecret},
};

fn person(email: &str) -> Person {
    Person::parse(&Payload::from_json(json!({ "email": email })).expect("object"))
        .expect("a valid address")
}

/// An export finds the person's leads in any case and their subscriber with its mail;
/// an erasure removes exactly those (and the mails about them), leaves the other
/// person alone, queues `person.erased`, and a second erasure finds nothing.
pub async fn erasure_removes_one_person_and_only_them(store: DynStore) {
    let payload =
        Payload::from_json(json!({"url": "https://hooks.example.com/p"})).expect("object");
    let webhook = NewWebhook::parse(&payload, false).expect("webhook");
    store
        .create_webhook(&webhook, &WebhookSecret::generate(), at(0))
        .await
        .expect("endpoint");
    let effects = LeadEffects {
        notify: vec!["sales@exit3.agency".into()],
        announce: true,
    };
    for (email, t) in [
        ("Ada@Example.com", 1),
        ("ada@example.com", 2),
        ("bob@example.com", 3),
    ] {
        let lead = new_lead(json!({"full_name": "A", "position": "B", "email": email}));
        store
            .insert_lead(&lead, &effects, &crate::Actor::System, at(t))
            .await
            .expect("insert");
    }
    for email in ["ada@example.com", "bob@example.com"] {
        store
            .subscribe(
                &subscribe_request(json!({ "email": email }), true),
                &crate::Actor::System,
                at(4),
            )
            .await
            .expect("subscribe");
    }
    let ada = person("ADA@example.com");
    let data = store.person_data(&ada).await.expect("export");
    assert_eq!(data.leads.len(), 2);
    assert!(data.leads[0].id < data.leads[1].id, "oldest first");
    assert_eq!(
        data.subscriber.as_ref().map(|s| s.email.as_str()),
        Some("ada@example.com")
    );
    assert_eq!(data.deliveries.len(), 1);
    assert_eq!(data.deliveries[0].status, DeliveryStatus::Pending);
    assert_eq!(data.deliveries[0].at, at(4));

    let erased = store
        .erase_person(
            &ada,
            &Event::person_erased(&ada, at(5)),
            &crate::Actor::System,
            at(5),
        )
        .await
        .expect("erase");
    // Two leads × (notification + `lead.created`) + the confirmation mail.
    assert_eq!(
        erased,
        Erased {
            leads: 2,
            subscribers: 1,
            deliveries: 5
        }
    );
    let after = store.person_data(&ada).await.expect("export");
    assert!(after.leads.is_empty() && after.subscriber.is_none() && after.deliveries.is_empty());
    let bob = store
        .person_data(&person("bob@example.com"))
        .await
        .expect("export");
    assert_eq!((bob.leads.len(), bob.deliveries.len()), (1, 1));
    assert!(bob.subscriber.is_some());

    assert_eq!(
        due(&store, 6).await,
        vec![
            ("confirmation", None),
            ("notification", None),
            ("webhook", Some(EventType::LeadCreated)),
            ("webhook", Some(EventType::PersonErased)),
        ],
        "Bob's, and the erasure's"
    );
    assert_eq!(
        store
            .erase_person(
                &ada,
                &Event::person_erased(&ada, at(7)),
                &crate::Actor::System,
                at(7)
            )
            .await
            .expect("erase again"),
        Erased::default()
    );
}
