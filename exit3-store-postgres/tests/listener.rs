//! What each store's listener keeps (`checked.rs`): recorded check-only throttle keys and
//! whether any webhook endpoint listens for `lead.created`, told between instances over
//! one database by `NOTIFY`.

use std::time::{Duration, Instant};

use exit3_core::{
    Payload, ThrottleDecision, ThrottleHit,
    store::{LeadStore, ThrottleStore},
    testing::{at, new_lead},
    throttle::Rate,
};
use exit3_store_postgres::{PostgresStore, testing};
use serde_json::json;

/// Two stores over one database agree on check-only keys (the `failed_auth` check of
/// every valid key): failures one records refuse the other's checks — announced with
/// `NOTIFY`, or read when a store starts — and a key that frees is accepted again.
#[tokio::test(flavor = "multi_thread")]
async fn check_only_keys_recorded_by_one_instance_refuse_on_the_others() {
    use exit3_core::{Counted, ThrottleKey, ThrottleScope};
    let Some(db) = testing::test_db().await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    let key = ThrottleKey::new(
        ThrottleScope::FailedAuth,
        &Counted::client("192.0.2.9".parse().ok(), 64),
    );
    let rate = Rate::new(2, Duration::from_secs(60)).unwrap_or_else(|| panic!("a rate"));
    let check = [ThrottleHit::check_only(key.clone(), rate)];
    assert_eq!(
        b.hit(&check, at(0)).await.unwrap_or_else(|e| panic!("{e}")),
        ThrottleDecision::Accepted
    );
    for t in [1, 2] {
        let failure = [ThrottleHit::new(key.clone(), rate)];
        let d = a
            .hit(&failure, at(t))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d, ThrottleDecision::Accepted);
    }
    let refused_soon = |store: PostgresStore, t: i64| {
        let check = check.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let d = store
                    .hit(&check, at(t))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                if matches!(d, ThrottleDecision::Refused { .. }) {
                    return true;
                }
                if Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(
        refused_soon(a.clone(), 3).await,
        "the recording store refuses"
    );
    assert!(
        refused_soon(b.clone(), 3).await,
        "the other store hears of it"
    );
    let c = db.store().await;
    assert!(
        refused_soon(c.clone(), 3).await,
        "a store started later reads it"
    );
    // Once the window frees (the first failure at 1 s leaves at 61 s), all accept.
    for store in [&a, &b, &c] {
        let d = store
            .hit(&check, at(62))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d, ThrottleDecision::Accepted);
    }
    db.drop_database().await;
}

/// A check of a key a store knows to be clear is left out of a call that also records
/// (a public create's `failed_auth` check): a refusal of that call still names its hit
/// by its place in the caller's hits.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_names_its_hit_when_a_clear_check_is_left_out() {
    use exit3_core::{Counted, ThrottleKey, ThrottleScope};
    let Some(db) = testing::test_db().await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    let key = |scope, ip: &str| ThrottleKey::new(scope, &Counted::client(ip.parse().ok(), 64));
    let rate = Rate::new(1, Duration::from_secs(60)).unwrap_or_else(|| panic!("a rate"));
    // `b`'s listener is live once it has heard of a failure `a` records.
    let failed = key(ThrottleScope::FailedAuth, "192.0.2.10");
    let d = a
        .hit(&[ThrottleHit::new(failed.clone(), rate)], at(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d, ThrottleDecision::Accepted);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = b
            .hit(&[ThrottleHit::check_only(failed.clone(), rate)], at(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if matches!(d, ThrottleDecision::Refused { .. }) {
            break;
        }
        assert!(Instant::now() < deadline, "the listener never heard of it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A clear check first, then a key with room for one request.
    let hits = [
        ThrottleHit::check_only(key(ThrottleScope::FailedAuth, "192.0.2.11"), rate),
        ThrottleHit::new(key(ThrottleScope::General, "192.0.2.11"), rate),
    ];
    let first = b.hit(&hits, at(2)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, ThrottleDecision::Accepted);
    let second = b.hit(&hits, at(3)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        second,
        ThrottleDecision::Refused {
            retry_after: Duration::from_secs(59),
            hit: 1
        }
    );
    db.drop_database().await;
}

/// A store writes creates without event rows while no endpoint listens, and hears of an
/// endpoint another instance adds: soon its creates carry `lead.created` again.
#[tokio::test(flavor = "multi_thread")]
async fn creates_announce_to_endpoints_another_instance_adds() {
    use exit3_core::{
        events::LeadEffects,
        outbox::OutboxMessage,
        store::{OutboxStore, WebhookStore},
        webhooks::{NewWebhook, WebhookSecret},
    };
    let Some(db) = testing::test_db().await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    let lead = new_lead(json!({"full_name": "Ada", "position": "CTO"}));
    let effects = LeadEffects::default();
    b.insert_lead(&lead, &effects, &exit3_core::Actor::System, at(0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let due = |store: PostgresStore, t: i64| async move {
        store
            .claim_due(at(t), 100, at(t + 60))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|c| matches!(c.message, OutboxMessage::Webhook { .. }))
            .count()
    };
    assert_eq!(due(b.clone(), 0).await, 0, "no endpoint, no event");
    let payload = Payload::from_json(json!({"url": "https://hooks.example.com/x"}))
        .unwrap_or_else(|e| panic!("{e}"));
    let hook = NewWebhook::parse(&payload, false).unwrap_or_else(|e| panic!("{e}"));
    a.create_webhook(&hook, &WebhookSecret::generate(), at(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut t = 2;
    loop {
        b.insert_lead(&lead, &effects, &exit3_core::Actor::System, at(t))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if due(b.clone(), t).await == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "b never heard of the endpoint");
        tokio::time::sleep(Duration::from_millis(20)).await;
        t += 1;
    }
    db.drop_database().await;
}
