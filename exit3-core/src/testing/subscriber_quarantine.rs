//! The conformance of quarantined subscriptions (capture.md §1): stored, mailed nothing
//! and announced nowhere, left out of the usual lists, and released with what acceptance
//! would have sent.

use serde_json::json;

use super::{at, due, subscribe_request};
use crate::{
    SubscriberStatus,
    domain::{SubscribeOutcome, SubscribeRequest, UnsubscribeMethod},
    events::EventType,
    input::Payload,
    query::{Ordering, PageRequest, QuarantineFilter, SubscriberFilter},
    spam::{Quarantine, SpamReason},
    store::{DynStore, UnsubscribeTarget},
    webhooks::{NewWebhook, WebhookSecret},
};

async fn listed(store: &DynStore, quarantined: QuarantineFilter) -> (u64, Vec<String>) {
    let filter = SubscriberFilter {
        quarantined,
        ..SubscriberFilter::default()
    };
    let page = store
        .list_subscribers(&filter, Ordering::default(), PageRequest::default())
        .await
        .expect("list");
    (
        page.count,
        page.items.into_iter().map(|s| s.email).collect(),
    )
}

fn doubtful(email: &str, double_opt_in: bool) -> SubscribeRequest {
    SubscribeRequest {
        quarantine: Some(Quarantine {
            reasons: vec![SpamReason::FormTokenReused],
            at: at(1),
        }),
        ..subscribe_request(json!({ "email": email }), double_opt_in)
    }
}

/// A quarantined subscription is stored with its reasons, queues no confirmation mail
/// and no event, and is listed only on request; a quarantined request changes no
/// accepted subscriber; releasing queues the confirmation mail (pending) or
/// `subscriber.confirmed` (active), once; a quarantined subscriber's unsubscribe is not
/// announced.
pub async fn quarantined_subscriptions_are_silent_until_released(store: DynStore) {
    let payload =
        Payload::from_json(json!({"url": "https://hooks.example.com/s"})).expect("object");
    let webhook = NewWebhook::parse(&payload, false).expect("webhook");
    store
        .create_webhook(&webhook, &WebhookSecret::generate(), at(0))
        .await
        .expect("endpoint");
    let (active, _) = store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), false),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("subscribe");
    assert_eq!(
        due(&store, 1).await,
        vec![("webhook", Some(EventType::SubscriberConfirmed))]
    );

    // Pending (double opt-in), quarantined: no mail, no event.
    let (pending, outcome) = store
        .subscribe(
            &doubtful("bot@example.com", true),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("subscribe quarantined");
    assert_eq!(outcome, SubscribeOutcome::Created);
    assert_eq!(pending.status, SubscriberStatus::Pending);
    assert!(pending.quarantine.is_some());
    assert_eq!(
        store.get_subscriber(pending.id).await.expect("get"),
        Some(pending.clone()),
        "kept with its reasons"
    );
    // Active (no double opt-in), quarantined: no `subscriber.confirmed`.
    let (silent, _) = store
        .subscribe(
            &doubtful("bot2@example.com", false),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("subscribe quarantined");
    assert_eq!(silent.status, SubscriberStatus::Active);
    // A quarantined request for an accepted subscriber changes nothing.
    let (same, outcome) = store
        .subscribe(
            &doubtful("ada@example.com", true),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("subscribe again");
    assert_eq!(outcome, SubscribeOutcome::AlreadyActive);
    assert_eq!(same, active);
    assert_eq!(
        due(&store, 2).await,
        vec![],
        "nothing for a quarantined request"
    );

    let everyone = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        listed(&store, QuarantineFilter::Exclude).await,
        (1, everyone(&["ada@example.com"]))
    );
    assert_eq!(listed(&store, QuarantineFilter::Only).await.0, 2);
    assert_eq!(listed(&store, QuarantineFilter::All).await.0, 3);

    let released = store
        .release_subscriber(pending.id, &crate::Actor::System, at(3))
        .await
        .expect("release")
        .expect("exists");
    assert_eq!(released.quarantine, None);
    assert_eq!(released.confirmations_sent, vec![at(3)]);
    let released_active = store
        .release_subscriber(silent.id, &crate::Actor::System, at(3))
        .await
        .expect("release")
        .expect("exists");
    assert_eq!(released_active.status, SubscriberStatus::Active);
    assert_eq!(
        due(&store, 3).await,
        vec![
            ("confirmation", None),
            ("webhook", Some(EventType::SubscriberConfirmed))
        ]
    );
    assert_eq!(
        store
            .release_subscriber(pending.id, &crate::Actor::System, at(4))
            .await
            .expect("release"),
        Some(released),
        "released once"
    );
    assert_eq!(due(&store, 4).await, vec![]);
    assert_eq!(listed(&store, QuarantineFilter::Exclude).await.0, 3);
    assert_eq!(
        store
            .release_subscriber(crate::SubscriberId::MAX, &crate::Actor::System, at(4))
            .await
            .expect("release"),
        None
    );

    // Leaving while quarantined is not announced either.
    let (gone, _) = store
        .subscribe(
            &doubtful("bot3@example.com", false),
            &crate::Actor::System,
            at(5),
        )
        .await
        .expect("subscribe quarantined");
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Id(gone.id),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(6)
            )
            .await
            .expect("unsubscribe")
    );
    assert_eq!(due(&store, 6).await, vec![]);
}
