//! The conformance of [`ThrottleStore`](crate::store::ThrottleStore): every decision as
//! the reference [`Window`] decides it.

use std::{sync::Arc, time::Duration};

use super::at;
use crate::{
    Actor,
    clock::from_micros,
    query::{LeadFilter, Ordering, PageRequest},
    store::{Admitted, DynStore},
    throttle::{Rate, ThrottleDecision, ThrottleHit, ThrottleKey, ThrottleScope, Window},
};

/// The scope a suite key belongs to: its prefix up to the first `:`.
fn scope_of(key: &str) -> ThrottleScope {
    ThrottleScope::ALL
        .into_iter()
        .find(|s| key.split(':').next() == Some(s.as_str()))
        .unwrap_or(ThrottleScope::General)
}

pub(crate) fn hit(key: &str, limit: u32, period_secs: u64) -> ThrottleHit {
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

/// [`LeadStore::insert_lead_admitted`](crate::store::LeadStore::insert_lead_admitted):
/// 30 concurrent creates from one client under `lead_create` 10/hour (and `general`
/// 100/hour) store exactly 10 leads, each answered with its lead; the 20 refused are
/// answered with `lead_create`'s refusal and recorded nowhere: `general` still has room
/// for 90 requests.
pub async fn admitted_leads_are_stored_only_when_accepted(store: DynStore) {
    let general = hit("general:ip:203.0.113.5", 100, 3600);
    let create = hit("lead_create:ip:203.0.113.5", 10, 3600);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (store, hits) = (Arc::clone(&store), [general.clone(), create.clone()]);
        tasks.push(tokio::spawn(async move {
            let lead = super::new_lead(serde_json::json!({
                "full_name": format!("Admitted {i}"),
                "position": "CTO",
                "email": format!("admitted{i}@example.com"),
            }));
            let answer = store
                .insert_lead_admitted(&hits, &lead, &Default::default(), &Actor::System, at(5))
                .await
                .expect("insert_lead_admitted");
            (format!("Admitted {i}"), answer)
        }));
    }
    let mut written = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            (name, Admitted::Written(lead)) => {
                assert_eq!(lead.full_name, name, "each create gets its own lead");
                assert_eq!(lead.created_at, at(5));
                written.push(lead.id);
            }
            (_, Admitted::Refused(decision)) => assert_eq!(
                decision,
                ThrottleDecision::Refused {
                    retry_after: Duration::from_secs(3600),
                    hit: 1
                }
            ),
        }
    }
    assert_eq!(written.len(), 10);
    let page = store
        .list_leads(
            &LeadFilter::default(),
            Ordering::default(),
            PageRequest::new(1, 100).expect("page"),
        )
        .await
        .expect("list");
    let mut stored: Vec<_> = page.items.iter().map(|l| l.id).collect();
    stored.sort();
    written.sort();
    assert_eq!(stored, written, "exactly the accepted creates are stored");
    for i in 0..90 {
        let d = store
            .hit(std::slice::from_ref(&general), at(10 + i))
            .await
            .expect("general");
        assert_eq!(d, ThrottleDecision::Accepted, "general hit {i}");
    }
    assert!(matches!(
        store
            .hit(std::slice::from_ref(&general), at(200))
            .await
            .expect("general"),
        ThrottleDecision::Refused { .. }
    ));
}
