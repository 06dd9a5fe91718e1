//! The conformance of the change history (admin.md "History"): every write to a lead or
//! subscriber leaves its entry in the same call, lists read them newest first by actor
//! and object, and an erasure leaves no value of the person behind.

use serde_json::json;

use super::{at, new_lead, new_subscriber, subscribe_request};
use crate::{
    domain::{
        Actor, HistoryAction, HistoryEntry, HistoryFilter, HistoryObject, LeadPatch, Policy,
        RequestFacts, SubscriberPatch, UnsubscribeMethod,
    },
    events::{Event, LeadEffects},
    input::Payload,
    privacy::Person,
    query::PageRequest,
    spam::{Quarantine, SpamReason},
    store::{ConfirmOutcome, DynStore, UnsubscribeTarget},
    tokens::ConfirmationToken,
};

fn staff(name: &str) -> Actor {
    Actor::Staff(name.to_owned())
}

async fn history(store: &DynStore, filter: HistoryFilter) -> Vec<HistoryEntry> {
    let page = store
        .list_history(&filter, PageRequest::new(1, 100).expect("page"))
        .await
        .expect("history");
    assert_eq!(page.count, page.items.len() as u64);
    page.items
}

/// `(actor, action, [(field, old, new)])` of each entry, as the test writes them.
fn summary(entries: &[HistoryEntry]) -> Vec<(String, &'static str, Vec<String>)> {
    entries
        .iter()
        .map(|e| {
            let changes = e
                .changes
                .iter()
                .map(|c| {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                    format!("{}:{}>{}", c.field, show(&c.old), show(&c.new))
                })
                .collect();
            (e.actor.to_string(), e.action.as_str(), changes)
        })
        .collect()
}

fn patch(body: serde_json::Value) -> LeadPatch {
    LeadPatch::partial(
        &Payload::from_json(body).expect("object"),
        &Policy::default(),
    )
    .expect("a valid patch")
}

/// A lead's life — created, changed, a change that changes nothing, released from a
/// quarantine, deleted — is its history, newest first, each entry by its actor at its
/// time; the history outlives the lead; filters by actor and object select exactly.
pub async fn lead_writes_leave_their_history(store: DynStore) {
    let none = LeadEffects::silent();
    let quarantined = new_lead(json!({"full_name": "Ada", "position": "CTO"})).with_quarantine(
        Some(Quarantine {
            reasons: vec![SpamReason::Honeypot],
            at: at(1),
        }),
    );
    let lead = store
        .insert_lead(&quarantined, &none, &Actor::Public, at(1))
        .await
        .expect("insert");
    let other = store
        .insert_lead(
            &new_lead(json!({"full_name": "Bob", "position": "CEO"})),
            &none,
            &Actor::AdminKey("00112233aabbccdd".into()),
            at(2),
        )
        .await
        .expect("insert");
    store
        .release_lead(lead.id, &none, &staff("eve"), at(3))
        .await
        .expect("release")
        .expect("a lead");
    let changed = store
        .update_lead(
            lead.id,
            &patch(
                json!({"status": "contacted", "notes": "Call on Monday.\nBudget 10k",
                          "company_name": "Engines"}),
            ),
            &staff("eve"),
            at(4),
        )
        .await
        .expect("update")
        .expect("a lead");
    assert_eq!(changed.notes, "Call on Monday.\nBudget 10k");
    // The same values again: no entry.
    store
        .update_lead(
            lead.id,
            &patch(json!({"status": "contacted"})),
            &staff("eve"),
            at(5),
        )
        .await
        .expect("update");
    assert!(
        store
            .delete_lead(lead.id, &staff("mallory"), at(6))
            .await
            .expect("delete")
    );

    let object = HistoryObject::Lead(lead.id);
    let entries = history(&store, HistoryFilter::of(object)).await;
    assert_eq!(
        summary(&entries),
        [
            ("staff:mallory".into(), "deleted", vec![]),
            (
                "staff:eve".into(),
                "changed",
                vec![
                    "company_name:->Engines".into(),
                    "status:new>contacted".into(),
                    "notes:->Call on Monday.\nBudget 10k".into()
                ]
            ),
            ("staff:eve".into(), "released", vec![]),
            ("api:public".into(), "created", vec![]),
        ]
    );
    assert_eq!(
        entries.iter().map(|e| e.at).collect::<Vec<_>>(),
        [at(6), at(4), at(3), at(1)]
    );
    assert!(entries.iter().all(|e| e.object == object && !e.redacted));
    assert!(
        entries.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );

    let all = history(&store, HistoryFilter::default()).await;
    assert_eq!(all.len(), 5);
    let by_key = history(
        &store,
        HistoryFilter {
            actor: Some(Actor::AdminKey("00112233aabbccdd".into())),
            object: None,
        },
    )
    .await;
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0].object, HistoryObject::Lead(other.id));
    assert_eq!(by_key[0].action, HistoryAction::Created);
    let eve_on_other = history(
        &store,
        HistoryFilter {
            actor: Some(staff("eve")),
            object: Some(HistoryObject::Lead(other.id)),
        },
    )
    .await;
    assert!(eve_on_other.is_empty());

    // Pages of the whole history partition it, newest first.
    let first = store
        .list_history(
            &HistoryFilter::default(),
            PageRequest::new(1, 2).expect("page"),
        )
        .await
        .expect("page 1");
    let third = store
        .list_history(
            &HistoryFilter::default(),
            PageRequest::new(3, 2).expect("page"),
        )
        .await
        .expect("page 3");
    assert_eq!((first.count, third.count), (5, 5));
    assert_eq!(first.items, all[..2]);
    assert_eq!(third.items, all[4..]);
}

/// A subscriber's history: created, nothing for subscribing an active address again,
/// a change, an unsubscribe, a re-subscription, a confirmation by link, a deletion.
pub async fn subscriber_writes_leave_their_history(store: DynStore) {
    let (ada, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "ada@example.com"})),
            &Actor::Public,
            at(1),
        )
        .await
        .expect("subscribe");
    store
        .subscribe(
            &new_subscriber(json!({"email": "ADA@example.com"})),
            &Actor::Public,
            at(2),
        )
        .await
        .expect("again");
    let patch = SubscriberPatch::parse(
        &Payload::from_json(json!({"full_name": "Ada L."})).expect("object"),
        &Policy::default(),
    )
    .expect("patch");
    store
        .update_subscriber(ada.id, &patch, &staff("eve"), at(3))
        .await
        .expect("update");
    assert!(
        store
            .unsubscribe(
                UnsubscribeTarget::Id(ada.id),
                UnsubscribeMethod::Link,
                &Actor::Public,
                at(4)
            )
            .await
            .expect("unsubscribe")
    );
    store
        .subscribe(
            &subscribe_request(json!({"email": "ada@example.com"}), true),
            &Actor::Public,
            at(5),
        )
        .await
        .expect("back, pending");
    let token = ConfirmationToken::generate();
    store
        .issue_confirmation(ada.id, token.hash(), at(100), at(5))
        .await
        .expect("token")
        .expect("pending");
    let confirmed = store
        .confirm(
            token.hash(),
            &RequestFacts::default(),
            &Actor::Public,
            at(6),
        )
        .await
        .expect("confirm");
    assert!(matches!(confirmed, ConfirmOutcome::Confirmed(_)));
    assert!(
        store
            .delete_subscriber(ada.id, &staff("eve"), at(7))
            .await
            .expect("delete")
    );

    let entries = history(&store, HistoryFilter::of(HistoryObject::Subscriber(ada.id))).await;
    assert_eq!(
        summary(&entries),
        [
            ("staff:eve".into(), "deleted", vec![]),
            (
                "api:public".into(),
                "confirmed",
                vec!["status:pending>active".into()]
            ),
            (
                "api:public".into(),
                "changed",
                vec!["status:unsubscribed>pending".into()]
            ),
            (
                "api:public".into(),
                "unsubscribed",
                vec!["status:active>unsubscribed".into()]
            ),
            (
                "staff:eve".into(),
                "changed",
                vec!["full_name:->Ada L.".into()]
            ),
            ("api:public".into(), "created", vec![]),
        ]
    );
}

/// An erasure redacts every value of the person's history — their leads', their
/// subscriber's, and another lead's whose address was theirs — leaves others' entries
/// whole, exports what it will redact, and writes one `erased` entry that names nobody.
pub async fn erasure_redacts_the_persons_history(store: DynStore) {
    let eve = staff("eve");
    let insert = |body: serde_json::Value, t| {
        let store = store.clone();
        let eve = eve.clone();
        async move {
            store
                .insert_lead(&new_lead(body), &LeadEffects::silent(), &eve, at(t))
                .await
                .expect("insert")
        }
    };
    let ada = insert(
        json!({"full_name": "Ada", "position": "CTO", "email": "ada@example.com"}),
        1,
    )
    .await;
    let moved = insert(
        json!({"full_name": "Moved", "position": "X", "email": "Ada@example.com"}),
        2,
    )
    .await;
    let bob = insert(
        json!({"full_name": "Bob", "position": "CEO", "email": "bob@example.com"}),
        3,
    )
    .await;
    for (id, body) in [
        (ada.id, json!({"phone": "+44 20 1234"})),
        (moved.id, json!({"email": "new@example.com"})),
        (bob.id, json!({"phone": "+1 555"})),
    ] {
        store
            .update_lead(id, &patch(body), &eve, at(4))
            .await
            .expect("update");
    }
    store
        .subscribe(
            &new_subscriber(json!({"email": "ada@example.com", "full_name": "Ada"})),
            &Actor::Public,
            at(5),
        )
        .await
        .expect("subscribe");
    let person =
        Person::parse(&Payload::from_json(json!({"email": "ADA@example.com"})).expect("o"))
            .expect("a person");

    let export = store.person_data(&person).await.expect("export");
    let about: Vec<_> = export.history.iter().map(|e| e.object).collect();
    // Ada's lead (created, changed), the moved lead's change from her address, her
    // subscriber (created).
    assert_eq!(export.history.len(), 4, "{about:?}");
    assert!(export.history.windows(2).all(|w| w[0].id > w[1].id));
    assert!(!about.contains(&HistoryObject::Lead(bob.id)));

    store
        .erase_person(&person, &Event::person_erased(&person, at(6)), &eve, at(6))
        .await
        .expect("erase");
    let all = history(&store, HistoryFilter::default()).await;
    let text = format!("{all:?}").to_lowercase();
    assert!(!text.contains("ada@example.com"), "{text}");
    assert!(!text.contains("+44 20 1234"), "{text}");
    let redacted: Vec<_> = all
        .iter()
        .filter(|e| e.redacted)
        .map(|e| e.object)
        .collect();
    assert_eq!(
        redacted.len(),
        2,
        "the two `changed` entries with values: {redacted:?}"
    );
    assert!(redacted.contains(&HistoryObject::Lead(moved.id)));
    let erased = &all[0];
    assert_eq!(
        (erased.action, erased.object, &erased.actor),
        (HistoryAction::Erased, HistoryObject::Person, &eve)
    );
    let bobs = history(&store, HistoryFilter::of(HistoryObject::Lead(bob.id))).await;
    assert_eq!(
        summary(&bobs)[0].2,
        ["phone:->+1 555".to_owned()],
        "another person's history stays whole"
    );
}
