//! The store conformance suite: every guarantee of the [`store`](crate::store) traits as
//! a public async function over a fresh, empty store. Run it against a backend with
//! [`store_conformance!`](crate::store_conformance), which stamps one test per function.
//!
//! ```text
//! async fn fresh_store() -> Option<exit3_core::DynStore> {
//!     Some(std::sync::Arc::new(MyStore::new()))
//! }
//! exit3_core::store_conformance!(fresh_store);
//! ```
//!
//! The factory returns `None` to skip (for example when no database is reachable; it
//! should say why). The tests use `#[tokio::test(flavor = "multi_thread")]`, so the
//! calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#![allow(clippy::missing_panics_doc)]

use std::{collections::HashSet, sync::Arc, time::Duration};

use serde_json::{Value, json};

use crate::{
    auth::Scope,
    clock::{Timestamp, from_micros},
    error::Error,
    lead::{ClientInfo, Lead, LeadId, LeadPatch, LeadStatus, NewLead, Origin},
    payload::Payload,
    policy::Policy,
    query::{LeadFilter, Ordering, PageRequest, Search, SubscriberFilter, paginate},
    store::DynStore,
    subscriber::{
        MSG_EMAIL_TAKEN, NewSubscriber, SubscribeOutcome, Subscriber, SubscriberId,
        SubscriberPatch, SubscriberStatus,
    },
    throttle::{Rate, ThrottleDecision, ThrottleHit, ThrottleKey, ThrottleScope, Window},
};

pub mod strategies;

/// Re-exported so that the macro's expansion can name it.
pub use tokio;

/// Stamps one `#[tokio::test]` per conformance function, each on a fresh store from
/// `$factory` (a path to an `async fn() -> Option<DynStore>`; `None` skips).
#[macro_export]
macro_rules! store_conformance {
    ($factory:path) => {
        $crate::store_conformance!(@each $factory;
            lead_round_trip,
            lead_missing_ids,
            lead_update_changes_only_given_fields,
            lead_delete_removes_the_lead,
            lead_filters,
            lead_search_is_case_insensitive_and_literal,
            lead_orderings_break_ties_by_id,
            lead_pages_partition_the_result,
            subscribe_is_idempotent_and_case_insensitive,
            concurrent_subscribes_give_one_subscriber,
            subscriber_update_and_email_conflict,
            subscriber_missing_ids,
            subscriber_lists,
            unsubscribe_marks_only_active_subscribers,
            throttle_follows_the_model,
            throttle_follows_the_model_when_the_limit_changes,
            throttle_is_exact_under_concurrency,
            throttle_scopes_are_atomic,
            throttle_keys_are_independent,
            throttle_check_only_hits_decide_but_never_record,
            health_answers,
        );
    };
    (@each $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(store) = $factory().await {
                    $crate::testing::$name(store).await;
                }
            }
        )*
    };
}

/// 2025-01-01T00:00:00Z plus `seconds`.
pub fn at(seconds: i64) -> Timestamp {
    from_micros(1_735_689_600_000_000 + seconds * 1_000_000)
}

/// A valid [`NewLead`] from a JSON body (admin scope, default policy).
pub fn new_lead(body: Value) -> NewLead {
    new_lead_from(body, &Origin::default())
}

/// A valid [`NewLead`] from a JSON body with the given origin.
pub fn new_lead_from(body: Value, origin: &Origin) -> NewLead {
    let payload = Payload::from_json(body).expect("an object");
    NewLead::parse(&payload, &Policy::default(), Scope::Admin, origin).expect("a valid lead")
}

/// A valid [`NewSubscriber`] from a JSON body.
pub fn new_subscriber(body: Value) -> NewSubscriber {
    let payload = Payload::from_json(body).expect("an object");
    NewSubscriber::parse(&payload, &Policy::default()).expect("a valid subscriber")
}

fn lead_patch(body: Value) -> LeadPatch {
    LeadPatch::partial(
        &Payload::from_json(body).expect("object"),
        &Policy::default(),
    )
    .expect("a valid patch")
}

fn subscriber_patch(body: Value) -> SubscriberPatch {
    SubscriberPatch::parse(
        &Payload::from_json(body).expect("object"),
        &Policy::default(),
    )
    .expect("a valid patch")
}

async fn insert(store: &DynStore, body: Value, now: Timestamp) -> Lead {
    store
        .insert_lead(&new_lead(body), now)
        .await
        .expect("insert")
}

async fn all_leads(store: &DynStore, filter: &LeadFilter, ordering: Ordering) -> Vec<Lead> {
    let page = PageRequest::new(1, 100).expect("page");
    let page = store
        .list_leads(filter, ordering, page)
        .await
        .expect("list");
    assert!(page.count <= 100, "suite data fits on one page");
    assert_eq!(page.count as usize, page.items.len());
    page.items
}

fn ids(leads: &[Lead]) -> Vec<i64> {
    leads.iter().map(|l| l.id.get()).collect()
}

/// A stored lead reads back exactly as stored, client info included; ids are positive
/// and increase.
pub async fn lead_round_trip(store: DynStore) {
    let origin = Origin {
        ip: "203.0.113.7".parse().ok(),
        user_agent: Some("Mozilla/5.0 ünïcode".into()),
        referrer: Some("https://exit3.example/contact".into()),
    };
    let body = json!({
        "full_name": "Ada Lovelace", "position": "Analyst", "company_name": "Engines & Co",
        "email": "Ada@Example.COM", "phone": "+44 (0)20 1234-5678", "message": "Hello\nthere",
        "status": "qualified", "source": "referral", "category": "design",
        "utm_source": "news", "utm_medium": "mail", "utm_campaign": "launch"
    });
    let first = store
        .insert_lead(&new_lead_from(body, &origin), at(1))
        .await
        .expect("insert");
    assert!(first.id.get() > 0);
    assert_eq!(first.full_name, "Ada Lovelace");
    assert_eq!(first.email.as_deref(), Some("Ada@example.com"));
    assert_eq!(first.message.as_deref(), Some("Hello\nthere"));
    assert_eq!(first.status, LeadStatus::Qualified);
    assert_eq!((first.created_at, first.updated_at), (at(1), at(1)));
    assert_eq!(
        first.client_info,
        Some(ClientInfo {
            ip_address: origin.ip,
            user_agent: origin.user_agent.clone(),
            referrer: origin.referrer.clone(),
            utm_source: Some("news".into()),
            utm_medium: Some("mail".into()),
            utm_campaign: Some("launch".into()),
        })
    );
    let read = store.get_lead(first.id).await.expect("get");
    assert_eq!(read.as_ref(), Some(&first));

    let second = insert(&store, json!({"full_name": "B", "position": "P"}), at(2)).await;
    assert!(second.id > first.id, "ids increase");
    assert_eq!(second.company_name, None);
    let info = second.client_info.expect("client info is always captured");
    assert_eq!(info, ClientInfo::default());
}

/// Unknown ids read as `None`, update to `None`, delete to `false`.
pub async fn lead_missing_ids(store: DynStore) {
    let id = LeadId::new(987_654).expect("positive");
    assert_eq!(store.get_lead(id).await.expect("get"), None);
    let patch = lead_patch(json!({"status": "lost"}));
    assert_eq!(
        store.update_lead(id, &patch, at(1)).await.expect("update"),
        None
    );
    assert!(!store.delete_lead(id).await.expect("delete"));
}

/// An update changes only the given fields, clears optional ones given as null, moves
/// `updated_at` and never `created_at` or the client info.
pub async fn lead_update_changes_only_given_fields(store: DynStore) {
    let lead = insert(
        &store,
        json!({"full_name": "A", "position": "P", "company_name": "C", "phone": "1", "utm_source": "x"}),
        at(1),
    )
    .await;
    let patch = lead_patch(json!({"status": "contacted", "company_name": null, "message": "m"}));
    let updated = store
        .update_lead(lead.id, &patch, at(5))
        .await
        .expect("update")
        .expect("exists");
    let mut expected = lead.clone();
    patch.apply(&mut expected, at(5));
    assert_eq!(updated, expected);
    assert_eq!(updated.company_name, None);
    assert_eq!(updated.phone.as_deref(), Some("1"));
    assert_eq!((updated.created_at, updated.updated_at), (at(1), at(5)));
    assert_eq!(
        store.get_lead(lead.id).await.expect("get"),
        Some(updated.clone())
    );

    let empty = lead_patch(json!({}));
    let touched = store
        .update_lead(lead.id, &empty, at(9))
        .await
        .expect("update");
    assert_eq!(touched.map(|l| l.updated_at), Some(at(9)));
}

/// A deleted lead is gone, from reads and lists.
pub async fn lead_delete_removes_the_lead(store: DynStore) {
    let a = insert(&store, json!({"full_name": "A", "position": "P"}), at(1)).await;
    let b = insert(&store, json!({"full_name": "B", "position": "P"}), at(2)).await;
    assert!(store.delete_lead(a.id).await.expect("delete"));
    assert!(!store.delete_lead(a.id).await.expect("delete twice"));
    assert_eq!(store.get_lead(a.id).await.expect("get"), None);
    let left = all_leads(&store, &LeadFilter::default(), Ordering::default()).await;
    assert_eq!(ids(&left), vec![b.id.get()]);
}

async fn sample_leads(store: &DynStore) -> Vec<Lead> {
    let rows = [
        json!({"full_name": "Zoë Zimmer", "position": "CEO", "status": "new", "source": "website", "category": "web_dev", "email": "zoe@zimmer.example"}),
        json!({"full_name": "adam Smith", "position": "CTO", "status": "contacted", "source": "referral", "category": "design", "company_name": "100% Pure_Co"}),
        json!({"full_name": "Émile Dupont", "position": "Buyer", "status": "new", "source": "social", "category": "web_dev", "company_name": "École SA"}),
        json!({"full_name": "Bob", "position": "Dev_Lead", "status": "lost", "source": "website", "category": "other", "email": "bob@ACME.example"}),
        json!({"full_name": "Bob", "position": "Ops", "status": "converted", "source": "event", "category": "marketing"}),
        json!({"full_name": "carol", "position": "50% owner", "status": "qualified", "source": "website", "category": "consulting", "company_name": "back\\slash"}),
    ];
    let mut leads = Vec::new();
    // Two leads share a creation time, to exercise the id tie-break.
    for (i, body) in rows.into_iter().enumerate() {
        let t = at(i64::try_from(i / 2 * 2).expect("small") * 60);
        leads.push(insert(store, body, t).await);
    }
    leads
}

fn expected(leads: &[Lead], filter: &LeadFilter, ordering: Ordering) -> Vec<i64> {
    let page = PageRequest::new(1, 100).expect("page");
    let p = paginate(
        leads.iter().cloned(),
        |l| filter.matches(l),
        |a, b| ordering.compare_leads(a, b),
        page,
    );
    ids(&p.items)
}

/// Each filter selects exactly the leads [`LeadFilter::matches`] selects; the date
/// bounds are inclusive (after) and exclusive (before).
pub async fn lead_filters(store: DynStore) {
    let leads = sample_leads(&store).await;
    let filters = [
        LeadFilter {
            status: Some(LeadStatus::New),
            ..LeadFilter::default()
        },
        LeadFilter {
            source: Some("website".into()),
            ..LeadFilter::default()
        },
        LeadFilter {
            category: Some("web_dev".into()),
            ..LeadFilter::default()
        },
        LeadFilter {
            created_after: Some(at(120)),
            ..LeadFilter::default()
        },
        LeadFilter {
            created_before: Some(at(120)),
            ..LeadFilter::default()
        },
        LeadFilter {
            created_after: Some(at(0)),
            created_before: Some(at(240)),
            status: Some(LeadStatus::New),
            ..LeadFilter::default()
        },
        LeadFilter {
            source: Some("email".into()),
            ..LeadFilter::default()
        },
    ];
    for filter in filters {
        let got = all_leads(&store, &filter, Ordering::default()).await;
        assert_eq!(
            ids(&got),
            expected(&leads, &filter, Ordering::default()),
            "{filter:?}"
        );
    }
    let after = LeadFilter {
        created_after: Some(at(120)),
        ..LeadFilter::default()
    };
    assert_eq!(
        all_leads(&store, &after, Ordering::default()).await.len(),
        4
    );
    let before = LeadFilter {
        created_before: Some(at(120)),
        ..LeadFilter::default()
    };
    assert_eq!(
        all_leads(&store, &before, Ordering::default()).await.len(),
        2
    );
}

/// Search matches any of the four fields, case-insensitively (Unicode included), with
/// `%`, `_` and `\` as plain characters.
pub async fn lead_search_is_case_insensitive_and_literal(store: DynStore) {
    let leads = sample_leads(&store).await;
    let cases: [(&str, usize); 11] = [
        ("bob", 2),
        ("ACME", 1),
        ("école", 1),
        ("ÉMILE", 1),
        ("zoë", 1),
        ("%", 2),
        ("100%", 1),
        ("_", 2),
        ("dev_", 1),
        ("\\", 1),
        ("no such thing", 0),
    ];
    for (needle, count) in cases {
        let filter = LeadFilter {
            search: Search::new(needle),
            ..LeadFilter::default()
        };
        let got = all_leads(&store, &filter, Ordering::default()).await;
        assert_eq!(
            ids(&got),
            expected(&leads, &filter, Ordering::default()),
            "search {needle:?}"
        );
        assert_eq!(got.len(), count, "search {needle:?}");
    }
}

/// Every ordering follows [`Ordering::compare_leads`], ties broken by id in the same
/// direction.
pub async fn lead_orderings_break_ties_by_id(store: DynStore) {
    let mut leads = sample_leads(&store).await;
    // Give two leads one update time, and others distinct ones.
    for (i, lead) in leads.iter_mut().enumerate() {
        let t = at(1000 + i64::try_from(i % 3).expect("small"));
        *lead = store
            .update_lead(lead.id, &lead_patch(json!({})), t)
            .await
            .expect("update")
            .expect("exists");
    }
    for ordering in Ordering::ALL {
        let got = all_leads(&store, &LeadFilter::default(), ordering).await;
        assert_eq!(
            ids(&got),
            expected(&leads, &LeadFilter::default(), ordering),
            "{}",
            ordering.as_param()
        );
    }
}

/// Consecutive pages partition the filtered, ordered result: no row twice, none
/// skipped; counts are the full count; a page past the end is empty with the count.
pub async fn lead_pages_partition_the_result(store: DynStore) {
    let mut leads = Vec::new();
    for i in 0..23 {
        let body = json!({"full_name": format!("N{}", i % 4), "position": "P", "status": if i % 3 == 0 { "new" } else { "lost" }});
        leads.push(insert(&store, body, at(i / 5)).await);
    }
    for ordering in [
        Ordering::default(),
        Ordering::from_param("full_name"),
        Ordering::from_param("-status"),
    ] {
        let filter = LeadFilter::default();
        let want = expected(&leads, &filter, ordering);
        let mut got = Vec::new();
        for page in 1..=5 {
            let p = store
                .list_leads(&filter, ordering, PageRequest::new(page, 5).expect("page"))
                .await
                .expect("list");
            assert_eq!(p.count, 23);
            assert_eq!(p.has_next(), page < 5);
            got.extend(ids(&p.items));
        }
        assert_eq!(got, want, "{}", ordering.as_param());
        let past = store
            .list_leads(&filter, ordering, PageRequest::new(6, 5).expect("page"))
            .await
            .expect("list");
        assert!(past.items.is_empty() && past.count == 23 && past.is_past_end());
    }
}

/// Subscribing creates, then answers already-active, and re-activates an unsubscribed
/// address, whatever the case of the address.
pub async fn subscribe_is_idempotent_and_case_insensitive(store: DynStore) {
    let (first, outcome) = store
        .subscribe(
            &new_subscriber(json!({"email": "Ada@Example.com", "full_name": "Ada"})),
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
            at(2),
        )
        .await
        .expect("subscribe again");
    assert_eq!(outcome, SubscribeOutcome::AlreadyActive);
    assert_eq!(again, first, "an active subscriber is returned unchanged");

    assert!(
        store
            .unsubscribe("ada@example.com", at(3))
            .await
            .expect("unsubscribe")
    );
    let (back, outcome) = store
        .subscribe(&new_subscriber(json!({"email": "ada@example.com"})), at(4))
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
                .subscribe(&new_subscriber(json!({"email": email})), at(1))
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
        .subscribe(&new_subscriber(json!({"email": "a@example.com"})), at(1))
        .await
        .expect("a");
    let (b, _) = store
        .subscribe(&new_subscriber(json!({"email": "b@example.com"})), at(1))
        .await
        .expect("b");

    let patch =
        subscriber_patch(json!({"status": "unsubscribed", "full_name": "Bee", "source": "event"}));
    let changed = store
        .update_subscriber(b.id, &patch, at(2))
        .await
        .expect("update")
        .expect("exists");
    let mut want = b.clone();
    patch.apply(&mut want, at(2));
    assert_eq!(changed, want);
    assert_eq!(changed.unsubscribed_at, Some(at(2)));

    let conflict = subscriber_patch(json!({"email": "A@EXAMPLE.com", "full_name": "x"}));
    match store.update_subscriber(b.id, &conflict, at(3)).await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors.get("email"), Some(&[MSG_EMAIL_TAKEN.to_owned()][..]));
        }
        other => panic!("expected the e-mail conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_subscriber(b.id).await.expect("get"),
        Some(changed),
        "nothing changed"
    );

    let own = subscriber_patch(json!({"email": "A@example.com"}));
    let same = store
        .update_subscriber(a.id, &own, at(4))
        .await
        .expect("own address")
        .expect("exists");
    assert_eq!(same.email, "a@example.com");

    let moved = subscriber_patch(json!({"email": "c@example.com", "status": "active"}));
    let c = store
        .update_subscriber(b.id, &moved, at(5))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (c.email.as_str(), c.status, c.unsubscribed_at),
        ("c@example.com", SubscriberStatus::Active, None)
    );
    let (again, outcome) = store
        .subscribe(&new_subscriber(json!({"email": "b@example.com"})), at(6))
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
            .update_subscriber(id, &patch, at(1))
            .await
            .expect("update"),
        None
    );
    assert!(!store.delete_subscriber(id).await.expect("delete"));

    let (s, _) = store
        .subscribe(&new_subscriber(json!({"email": "gone@example.com"})), at(1))
        .await
        .expect("s");
    assert!(store.delete_subscriber(s.id).await.expect("delete"));
    assert_eq!(store.get_subscriber(s.id).await.expect("get"), None);
    let (_, outcome) = store
        .subscribe(&new_subscriber(json!({"email": "gone@example.com"})), at(2))
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
                .subscribe(&new_subscriber(body), t)
                .await
                .expect("subscribe")
                .0,
        );
    }
    assert!(
        store
            .unsubscribe("max@example.com", at(10))
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
            .unsubscribe("nobody@example.com", at(1))
            .await
            .expect("unknown")
    );
    let (s, _) = store
        .subscribe(&new_subscriber(json!({"email": "u@example.com"})), at(1))
        .await
        .expect("s");
    assert!(
        store
            .unsubscribe("u@example.com", at(2))
            .await
            .expect("first")
    );
    assert!(
        !store
            .unsubscribe("u@example.com", at(3))
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

/// The scope a suite key belongs to: its prefix up to the first `:`.
fn scope_of(key: &str) -> ThrottleScope {
    ThrottleScope::ALL
        .into_iter()
        .find(|s| key.split(':').next() == Some(s.as_str()))
        .unwrap_or(ThrottleScope::General)
}

fn hit(key: &str, limit: u32, period_secs: u64) -> ThrottleHit {
    ThrottleHit::new(
        ThrottleKey::custom(scope_of(key), key),
        Rate::new(limit, Duration::from_secs(period_secs)).expect("rate"),
    )
}

fn check_only(key: &str, limit: u32, period_secs: u64) -> ThrottleHit {
    let h = hit(key, limit, period_secs);
    ThrottleHit::check_only(h.key, h.rate)
}

/// Sends one hit on `key` per `(limit, ms since at(0))` step, each under a rate of
/// `limit` per minute, and checks every decision against the reference [`Window`],
/// `Retry-After` included.
async fn follow_the_model(store: &DynStore, key: &str, steps: &[(u32, i64)]) {
    let mut model = Window::new();
    for &(limit, ms) in steps {
        let h = hit(key, limit, 60);
        let now = from_micros(crate::clock::to_micros(at(0)) + ms * 1_000);
        let got = store.hit(std::slice::from_ref(&h), now).await.expect("hit");
        let want = match model.check(h.rate, now) {
            Ok(()) => {
                model.record_micros(h.rate, crate::clock::to_micros(now));
                ThrottleDecision::Accepted
            }
            Err(retry_after) => ThrottleDecision::Refused {
                retry_after,
                hit: 0,
            },
        };
        assert_eq!(got, want, "limit {limit} at {ms} ms");
    }
}

/// A sequence of hits on one key is decided exactly as the reference [`Window`] decides
/// it, `Retry-After` included.
pub async fn throttle_follows_the_model(store: DynStore) {
    let steps = [
        0, 1, 2, 3, 30_000, 59_999, 60_000, 60_001, 61_000, 119_999, 120_001, 200_000, 200_000,
        200_000, 200_000,
    ]
    .map(|ms| (3, ms));
    follow_the_model(&store, "general:ip:192.0.2.1", &steps).await;
}

/// A key whose rate's limit changes between calls (a new setting, a rolling restart
/// with two settings at once) keeps following the reference [`Window`]: a raised limit
/// admits more at once, a lowered one counts the newest kept times.
pub async fn throttle_follows_the_model_when_the_limit_changes(store: DynStore) {
    // (limit, ms since the start): bursts under one limit, then another.
    #[rustfmt::skip]
    let steps = [
        (3, 0), (3, 1), (3, 2), (3, 3),
        (5, 4), (5, 5), (5, 6), (5, 7),
        (2, 8), (2, 9), (2, 30_000), (2, 60_005),
        (4, 60_006), (4, 60_007), (4, 60_008), (4, 60_009),
        (1, 60_010), (1, 120_009), (1, 120_010), (1, 180_011),
        (6, 180_012), (6, 180_013), (3, 180_014), (3, 240_014),
    ];
    follow_the_model(&store, "subscribe:ip:192.0.2.9", &steps).await;
}

/// 50 concurrent hits at `10/hour` accept exactly 10.
pub async fn throttle_is_exact_under_concurrency(store: DynStore) {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .hit(&[hit("lead_create:ip:198.51.100.1", 10, 3600)], at(5))
                .await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task").expect("hit") {
            ThrottleDecision::Accepted => accepted += 1,
            ThrottleDecision::Refused { retry_after, hit } => {
                assert_eq!((retry_after, hit), (Duration::from_secs(3600), 0))
            }
        }
    }
    assert_eq!(accepted, 10);
}

/// A request refused by one scope is recorded in none: the other scopes' counts do
/// not move.
pub async fn throttle_scopes_are_atomic(store: DynStore) {
    let general = hit("general:ip:192.0.2.9", 5, 3600);
    let create = hit("lead_create:ip:192.0.2.9", 2, 3600);
    let both = [general.clone(), create.clone()];
    assert_eq!(
        store.hit(&both, at(0)).await.expect("1"),
        ThrottleDecision::Accepted
    );
    assert_eq!(
        store.hit(&both, at(1)).await.expect("2"),
        ThrottleDecision::Accepted
    );
    for i in 2..6 {
        let d = store.hit(&both, at(i)).await.expect("refused");
        let retry_after = Duration::from_secs(3600 - u64::try_from(i).expect("small"));
        // `lead_create` (index 1) refuses; `general` has room.
        assert_eq!(
            d,
            ThrottleDecision::Refused {
                retry_after,
                hit: 1
            }
        );
    }
    // Only the two accepted requests count in `general`: three more fit.
    for i in 0..3 {
        let d = store
            .hit(std::slice::from_ref(&general), at(10 + i))
            .await
            .expect("general");
        assert_eq!(d, ThrottleDecision::Accepted, "general hit {i}");
    }
    let d = store
        .hit(std::slice::from_ref(&general), at(20))
        .await
        .expect("general");
    assert_eq!(
        d,
        ThrottleDecision::Refused {
            retry_after: Duration::from_secs(3580),
            hit: 0
        }
    );
    // The longest wait among refusing scopes is reported: at 30 s `general` (oldest of
    // its last 5 at 0 s) waits 3570 s, `lead_create` at 1/hour (its last at 1 s) 3571 s.
    // Then a wider `general` accepts, and the refusal is `lead_create`'s alone.
    let create_one = hit("lead_create:ip:192.0.2.9", 1, 3600);
    let d = store
        .hit(&[general.clone(), create_one], at(30))
        .await
        .expect("both refuse");
    assert_eq!(
        d,
        ThrottleDecision::Refused {
            retry_after: Duration::from_secs(3571),
            hit: 1
        }
    );
    let wider = hit("general:ip:192.0.2.9", 7, 7200);
    let d = store
        .hit(&[wider, create.clone()], at(30))
        .await
        .expect("both refuse");
    assert_eq!(
        d,
        ThrottleDecision::Refused {
            retry_after: Duration::from_secs(3570),
            hit: 1
        }
    );
    // An empty request is accepted and records nothing.
    assert_eq!(
        store.hit(&[], at(40)).await.expect("empty"),
        ThrottleDecision::Accepted
    );
}

/// Keys do not share counts, and a key's rate can differ per call (a changed setting).
pub async fn throttle_keys_are_independent(store: DynStore) {
    for key in [
        "general:ip:10.0.0.1",
        "general:ip:10.0.0.2",
        "admin:key:abcdef",
    ] {
        assert_eq!(
            store.hit(&[hit(key, 1, 60)], at(0)).await.expect("hit"),
            ThrottleDecision::Accepted
        );
        assert!(matches!(
            store.hit(&[hit(key, 1, 60)], at(1)).await.expect("hit"),
            ThrottleDecision::Refused { .. }
        ));
    }
    // Raising the limit lets more through at once.
    assert_eq!(
        store
            .hit(&[hit("general:ip:10.0.0.1", 2, 60)], at(2))
            .await
            .expect("hit"),
        ThrottleDecision::Accepted
    );
    // After the window, everything is accepted again.
    assert_eq!(
        store
            .hit(&[hit("admin:key:abcdef", 1, 60)], at(60))
            .await
            .expect("hit"),
        ThrottleDecision::Accepted
    );
}

/// A check-only hit refuses like any other when its key's window is full, but an
/// accepted request is never recorded in its key (while the request's other keys record
/// it); a refusal by it records nothing anywhere.
pub async fn throttle_check_only_hits_decide_but_never_record(store: DynStore) {
    let failed = "failed_auth:ip:192.0.2.77";
    let general = "general:ip:192.0.2.77";
    // Checked many times while empty: nothing is recorded, so two failures still fit.
    for i in 0..5 {
        let d = store
            .hit(&[check_only(failed, 2, 60), hit(general, 100, 3600)], at(i))
            .await
            .expect("check");
        assert_eq!(d, ThrottleDecision::Accepted, "check {i}");
    }
    for i in 5..7 {
        let d = store.hit(&[hit(failed, 2, 60)], at(i)).await.expect("fail");
        assert_eq!(d, ThrottleDecision::Accepted, "failure {i}");
    }
    // Full: a check refuses (the oldest failure, at 5 s, leaves at 65 s) and the other
    // key records nothing.
    let d = store
        .hit(&[check_only(failed, 2, 60), hit(general, 6, 3600)], at(10))
        .await
        .expect("refused");
    assert_eq!(
        d,
        ThrottleDecision::Refused {
            retry_after: Duration::from_secs(55),
            hit: 0
        }
    );
    // `general` holds the five checked requests only: one more fits, then it is full.
    let d = store
        .hit(&[hit(general, 6, 3600)], at(11))
        .await
        .expect("6th");
    assert_eq!(d, ThrottleDecision::Accepted);
    let d = store
        .hit(&[hit(general, 6, 3600)], at(12))
        .await
        .expect("7th");
    assert!(
        matches!(d, ThrottleDecision::Refused { hit: 0, .. }),
        "{d:?}"
    );
    // Once the window frees, checks accept again.
    let d = store
        .hit(&[check_only(failed, 2, 60)], at(66))
        .await
        .expect("free");
    assert_eq!(d, ThrottleDecision::Accepted);
}

/// A working store is healthy.
pub async fn health_answers(store: DynStore) {
    store.health().await.expect("healthy");
}
