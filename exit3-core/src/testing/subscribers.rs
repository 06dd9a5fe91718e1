//! The conformance of [`SubscriberStore`](crate::store::SubscriberStore).

use std::{collections::HashSet, sync::Arc};

use serde_json::{Value, json};

use super::{at, new_subscriber};
use crate::{
    domain::{
        Policy, SubscribeOutcome, Subscriber, SubscriberId, SubscriberPatch, SubscriberStatus,
        UnsubscribeMethod,
    },
    input::Payload,
    query::{Ordering, PageRequest, Search, SubscriberFilter, paginate},
    store::{Conflict, DynStore, StoreError, UnsubscribeTarget},
};

fn subscriber_patch(body: Value) -> SubscriberPatch {
    SubscriberPatch::parse(
        &Payload::from_json(body).expect("object"),
        &Policy::default(),
    )
    .expect("a valid patch")
}

/// Subscribing creates, then answers already-active, and re-activates an unsubscribed
/// address, whatever the case of the address.
pub async fn subscribe_is_idempotent_and_case_insensitive(store: DynStore) {
    let (first, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "Ada@Example.com", "full_name": "Ada"})),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("subscribe");
    assert_eq!(outcome, SubscribeOutcome::Created);
    assert_eq!(first.email, "ada@example.com");
    assert_eq!(
        (first.status, first.unsubscribed_at),
        (SubscriberStatus::Active, None)
    );
    assert_eq!((first.created_at, first.updated_at), (at(1), at(1)));
    assert_eq!(
        store.get_subscriber(first.id).await.expect("get"),
        Some(first.clone())
    );

    let (again, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "ADA@example.COM", "full_name": "Other"})),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("subscribe again");
    assert_eq!(outcome, SubscribeOutcome::AlreadyActive);
    assert_eq!(again, first, "an active subscriber is returned unchanged");

    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Email("ada@example.com"),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(3)
            )
            .await
            .expect("unsubscribe")
    );
    let (back, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "ada@example.com"})),
            &crate::Actor::System,
            at(4),
        )
        .await
        .expect("re-subscribe");
    assert_eq!(outcome, SubscribeOutcome::Reactivated);
    assert_eq!(back.id, first.id);
    assert_eq!(
        (back.status, back.unsubscribed_at),
        (SubscriberStatus::Active, None)
    );
    assert_eq!((back.created_at, back.updated_at), (at(1), at(4)));
}

/// 100 concurrent subscribes of one address leave exactly one subscriber; exactly one
/// call reports `Created`.
pub async fn concurrent_subscribes_give_one_subscriber(store: DynStore) {
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = Arc::clone(&store);
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@Example.com"
        };
        tasks.push(tokio::spawn(async move {
            store
                .subscribe(
                    &new_subscriber(json!({"email": email})),
                    &crate::Actor::System,
                    at(1),
                )
                .await
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let (s, outcome) = task.await.expect("task").expect("subscribe");
        created += usize::from(outcome == SubscribeOutcome::Created);
        ids.insert(s.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let all = store
        .list_subscribers(
            &SubscriberFilter::default(),
            Ordering::default(),
            PageRequest::default(),
        )
        .await
        .expect("list");
    assert_eq!(all.count, 1);
}

/// Updates change the given fields and keep `unsubscribed_at` consistent; taking
/// another subscriber's address is refused with the contract's field error.
pub async fn subscriber_update_and_email_conflict(store: DynStore) {
    let (a, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "a@example.com"})),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("a");
    let (b, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "b@example.com"})),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("b");

    let patch =
        subscriber_patch(json!({"status": "unsubscribed", "full_name": "Bee", "source": "event"}));
    let changed = store
        .update_subscriber(b.id, &patch, &crate::Actor::System, at(2))
        .await
        .expect("update")
        .expect("exists");
    let mut want = b.clone();
    patch.apply(&mut want, at(2));
    assert_eq!(changed, want);
    assert_eq!(changed.unsubscribed_at, Some(at(2)));

    let conflict = subscriber_patch(json!({"email": "A@EXAMPLE.com", "full_name": "x"}));
    match store
        .update_subscriber(b.id, &conflict, &crate::Actor::System, at(3))
        .await
    {
        Err(StoreError::Conflict {
            what: Conflict::SubscriberEmail,
        }) => {}
        other => panic!("expected the e-mail conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_subscriber(b.id).await.expect("get"),
        Some(changed),
        "nothing changed"
    );

    let own = subscriber_patch(json!({"email": "A@example.com"}));
    let same = store
        .update_subscriber(a.id, &own, &crate::Actor::System, at(4))
        .await
        .expect("own address")
        .expect("exists");
    assert_eq!(same.email, "a@example.com");

    let moved = subscriber_patch(json!({"email": "c@example.com", "status": "active"}));
    let c = store
        .update_subscriber(b.id, &moved, &crate::Actor::System, at(5))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (c.email.as_str(), c.status, c.unsubscribed_at),
        ("c@example.com", SubscriberStatus::Active, None)
    );
    let (again, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "b@example.com"})),
            &crate::Actor::System,
            at(6),
        )
        .await
        .expect("b again");
    assert_eq!(
        outcome,
        SubscribeOutcome::Created,
        "the old address is free again"
    );
    assert_ne!(again.id, b.id);
}

/// Unknown subscriber ids read as `None`, update to `None`, delete to `false`; a
/// deleted subscriber's address can subscribe anew.
pub async fn subscriber_missing_ids(store: DynStore) {
    let id = SubscriberId::new(424_242).expect("positive");
    assert_eq!(store.get_subscriber(id).await.expect("get"), None);
    let patch = subscriber_patch(json!({"full_name": "x"}));
    assert_eq!(
        store
            .update_subscriber(id, &patch, &crate::Actor::System, at(1))
            .await
            .expect("update"),
        None
    );
    assert!(
        !store
            .delete_subscriber(id, &crate::Actor::System, at(1))
            .await
            .expect("delete")
    );

    let (s, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "gone@example.com"})),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("s");
    assert!(
        store
            .delete_subscriber(s.id, &crate::Actor::System, at(1))
            .await
            .expect("delete")
    );
    assert_eq!(store.get_subscriber(s.id).await.expect("get"), None);
    let (_, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "gone@example.com"})),
            &crate::Actor::System,
            at(2),
        )
        .await
        .expect("s");
    assert_eq!(outcome, SubscribeOutcome::Created);
}

/// Subscriber lists follow [`SubscriberFilter::matches`] and
/// [`Ordering::compare_subscribers`] (missing names after all names), and paginate.
pub async fn subscriber_lists(store: DynStore) {
    let bodies = [
        json!({"email": "zed@example.com", "full_name": "Zed", "source": "event"}),
        json!({"email": "amy@example.com"}),
        json!({"email": "bo_b@example.com", "full_name": "Bo 100%"}),
        json!({"email": "eve@example.com", "full_name": "ève", "source": "social"}),
        json!({"email": "max@example.com", "full_name": "Max"}),
    ];
    let mut subs: Vec<Subscriber> = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let t = at(i64::try_from(i / 2).expect("small"));
        subs.push(
            store
                .subscribe(&new_subscriber(body), &crate::Actor::System, t)
                .await
                .expect("subscribe")
                .0,
        );
    }
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Email("max@example.com"),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(10)
            )
            .await
            .expect("unsubscribe")
    );
    subs[4] = store
        .get_subscriber(subs[4].id)
        .await
        .expect("get")
        .expect("exists");

    let filters = [
        SubscriberFilter::default(),
        SubscriberFilter {
            status: Some(SubscriberStatus::Active),
            ..SubscriberFilter::default()
        },
        SubscriberFilter {
            source: Some("website".into()),
            ..SubscriberFilter::default()
        },
        SubscriberFilter {
            search: Search::new("ÈVE"),
            ..SubscriberFilter::default()
        },
        SubscriberFilter {
            search: Search::new("_"),
            ..SubscriberFilter::default()
        },
        SubscriberFilter {
            search: Search::new("%"),
            ..SubscriberFilter::default()
        },
        SubscriberFilter {
            search: Search::new("EXAMPLE"),
            ..SubscriberFilter::default()
        },
    ];
    let all = PageRequest::new(1, 100).expect("page");
    for filter in &filters {
        for ordering in Ordering::ALL {
            let got = store
                .list_subscribers(filter, ordering, all)
                .await
                .expect("list");
            let want = paginate(
                subs.iter().cloned(),
                |s| filter.matches(s),
                |a, b| ordering.compare_subscribers(a, b),
                all,
            );
            let got_ids: Vec<_> = got.items.iter().map(|s| s.id).collect();
            let want_ids: Vec<_> = want.items.iter().map(|s| s.id).collect();
            assert_eq!(got_ids, want_ids, "{filter:?} {}", ordering.as_param());
            assert_eq!(got.count, want.count);
        }
    }
    let page2 = store
        .list_subscribers(
            &SubscriberFilter::default(),
            Ordering::default(),
            PageRequest::new(2, 2).expect("page"),
        )
        .await
        .expect("list");
    assert_eq!((page2.count, page2.items.len()), (5, 2));
}

/// Unsubscribing changes an active subscriber only, and reports whether it did.
pub async fn unsubscribe_marks_only_active_subscribers(store: DynStore) {
    assert!(
        !store
            .unsubscribe(
                UnsubscribeTarget::Email("nobody@example.com"),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(1)
            )
            .await
            .expect("unknown")
    );
    let (s, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "u@example.com"})),
            &crate::Actor::System,
            at(1),
        )
        .await
        .expect("s");
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Email("u@example.com"),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(2)
            )
            .await
            .expect("first")
    );
    assert!(
        !store
            .unsubscribe(
                UnsubscribeTarget::Email("u@example.com"),
                UnsubscribeMethod::Api,
                &crate::Actor::System,
                at(3)
            )
            .await
            .expect("second")
    );
    let read = store
        .get_subscriber(s.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read.status, SubscriberStatus::Unsubscribed);
    assert_eq!(
        (read.unsubscribed_at, read.updated_at),
        (Some(at(2)), at(2))
    );
}
