//! Group commit (issue 16): creates that arrive together are written together — fewer
//! transactions than creates — and yet each is answered with its own lead, with its own
//! client info, history entry, deliveries and notifications; a row the database refuses
//! fails alone, its neighbours are stored; and nothing is answered that is not committed.
//! Subscribes too: those that arrive together share a transaction, and each is answered
//! as the same calls one after the other are.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use exit3_core::{
    Actor, HistoryFilter, HistoryObject, Ordering, PageRequest, SubscribeOutcome, Subscriber,
    SubscriberFilter, ThrottleDecision, ThrottleHit,
    events::{Event, LeadEffects},
    store::{Admitted, HistoryStore, LeadStore, SubscriberStore, ThrottleStore, WebhookStore},
    testing::{at, new_lead_from, subscribe_request},
    throttle::Rate,
    webhooks::{NewWebhook, WebhookSecret},
};
use exit3_store_postgres::testing;
use proptest::{prelude::*, test_runner::TestRunner};
use serde_json::json;

const CREATES: usize = 200;

/// A webhook endpoint listening for every event.
async fn add_endpoint(store: &exit3_store_postgres::PostgresStore) {
    let hook = NewWebhook::parse(
        &exit3_core::Payload::from_json(json!({"url": "https://hooks.example.com/gc"}))
            .expect("object"),
        false,
    )
    .expect("webhook");
    store
        .create_webhook(&hook, &WebhookSecret::generate(), at(0))
        .await
        .expect("endpoint");
}

/// A store with a webhook endpoint listening for every event (`add_endpoint`), whose
/// `leads` refuses a row named Mallory — a constraint only these tests have: such a row
/// must fail alone.
async fn store_refusing_mallory(db: &testing::TestDb) -> exit3_store_postgres::PostgresStore {
    let store = db.store().await;
    add_endpoint(&store).await;
    sqlx::query(
        "ALTER TABLE leads ADD CONSTRAINT test_refuses_mallory CHECK (full_name <> 'Mallory')",
    )
    .execute(store.pool())
    .await
    .expect("constraint");
    store
}

/// The transactions committed in the store's database so far.
async fn commits(store: &exit3_store_postgres::PostgresStore) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(store.pool())
    .await
    .expect("stats");
    n
}

/// How many leads, webhook messages and mails the store's database holds.
async fn lead_and_event_counts(store: &exit3_store_postgres::PostgresStore) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM leads), \
                (SELECT count(*) FROM outbox WHERE kind = 'webhook'), \
                (SELECT count(*) FROM outbox WHERE kind = 'mail')",
    )
    .fetch_one(store.pool())
    .await
    .expect("counts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_share_commits_and_each_gets_its_own_lead() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = Arc::new(store_refusing_mallory(&db).await);
    let before = commits(&store).await;

    let effects = LeadEffects {
        notify: vec!["sales@exit3.agency".into()],
        announce: true,
    };
    let calls: Vec<_> = (0..CREATES)
        .map(|i| {
            let store = store.clone();
            let effects = effects.clone();
            tokio::spawn(async move {
                let name = if i == CREATES / 2 {
                    "Mallory".to_owned()
                } else {
                    format!("Person {i}")
                };
                let origin = exit3_core::Origin {
                    ip: format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().ok(),
                    ..Default::default()
                };
                let lead = new_lead_from(json!({"full_name": name, "position": "X"}), &origin);
                let stored = store
                    .insert_lead(&lead, &effects, &Actor::Public, at(1))
                    .await;
                (name, origin.ip, stored)
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for call in calls {
        let (name, ip, stored) = call.await.expect("joined");
        if name == "Mallory" {
            assert!(stored.is_err(), "the refused row fails: {stored:?}");
            continue;
        }
        let lead = stored.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            lead.full_name, name,
            "each create is answered with its own lead"
        );
        assert_eq!(lead.client_info.and_then(|c| c.ip_address), ip);
        assert!(ids.insert(lead.id), "ids are unique");
        let history = store
            .list_history(
                &HistoryFilter::of(HistoryObject::Lead(lead.id)),
                PageRequest::default(),
            )
            .await
            .expect("history");
        assert_eq!(history.count, 1, "its own `created` entry");
    }
    assert_eq!(ids.len(), CREATES - 1);
    let transactions = commits(&store).await - before;
    assert!(
        transactions < (CREATES as i64) * 3 / 4,
        "{transactions} transactions for {CREATES} creates: not batched"
    );

    // Every stored lead has its delivery and its notification; the refused one none.
    let (leads, webhooks, mails) = lead_and_event_counts(&store).await;
    assert_eq!((leads, webhooks, mails), (199, 199, 199));
    // Each body names its own lead: the id filled in is the lead's with that name.
    let (bodies_right,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM outbox o \
         JOIN webhook_deliveries d ON d.outbox_id = o.id \
         CROSS JOIN LATERAL (SELECT (o.payload::json ->> 'body')::json -> 'data' AS data) b \
         JOIN leads l ON l.id = (b.data ->> 'id')::int8 AND l.full_name = b.data ->> 'full_name'",
    )
    .fetch_one(store.pool())
    .await
    .expect("bodies");
    assert_eq!(bodies_right, 199, "each call's body carries its lead's id");
    store.close().await;
    if let Ok(store) = Arc::try_unwrap(store) {
        drop(store);
    }
    db.drop_database().await;
}

/// Creates decided and stored in one batch (`insert_lead_admitted`, `lead_admit.rs`):
/// 130 concurrent creates from 13 clients, 10 each, under `lead_create` 6 an hour and
/// `general` 100 — each client gets exactly 6 accepted and 4 refused by `lead_create`,
/// each answer its own lead; a refusal is recorded nowhere (`general` counts 6); a row
/// the database refuses fails alone; every stored lead has its delivery and mail; and the
/// creates share transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admitted_creates_share_commits_and_are_decided_one_by_one() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = Arc::new(store_refusing_mallory(&db).await);
    let before = commits(&store).await;
    let hit = |scope, key: String, limit| {
        ThrottleHit::new(
            exit3_core::ThrottleKey::custom(scope, &key),
            Rate::new(limit, std::time::Duration::from_secs(3600)).expect("rate"),
        )
    };
    let effects = LeadEffects {
        notify: vec!["sales@exit3.agency".into()],
        announce: true,
    };
    const CLIENTS: usize = 13;
    let calls: Vec<_> = (0..CLIENTS * 10)
        .map(|i| {
            let (store, effects) = (store.clone(), effects.clone());
            let client = i % CLIENTS;
            // The last client's fifth create is a row the database refuses.
            let name = if client == CLIENTS - 1 && i / CLIENTS == 4 {
                "Mallory".to_owned()
            } else {
                format!("Person {i}")
            };
            let hits = [
                hit(
                    exit3_core::ThrottleScope::General,
                    format!("general:ip:10.9.0.{client}"),
                    100,
                ),
                hit(
                    exit3_core::ThrottleScope::LeadCreate,
                    format!("lead_create:ip:10.9.0.{client}"),
                    6,
                ),
            ];
            tokio::spawn(async move {
                let lead = new_lead_from(
                    json!({"full_name": name, "position": "X"}),
                    &Default::default(),
                );
                let answer = store
                    .insert_lead_admitted(&hits, &lead, &effects, &Actor::Public, at(1))
                    .await;
                (client, name, answer)
            })
        })
        .collect();
    let mut accepted: HashMap<usize, usize> = HashMap::new();
    let mut refused: HashMap<usize, usize> = HashMap::new();
    let mut failed = 0;
    let mut ids = HashSet::new();
    for call in calls {
        let (client, name, answer) = call.await.expect("joined");
        match answer {
            Err(_) => {
                assert_eq!(name, "Mallory", "only the refused row fails");
                // Accepted by the throttle (and recorded), refused by the database.
                *accepted.entry(client).or_default() += 1;
                failed += 1;
            }
            Ok(Admitted::Written(lead)) => {
                assert_eq!(lead.full_name, name, "each create gets its own lead");
                assert!(ids.insert(lead.id), "ids are unique");
                *accepted.entry(client).or_default() += 1;
            }
            Ok(Admitted::Refused(decision)) => {
                assert_eq!(
                    decision,
                    ThrottleDecision::Refused {
                        retry_after: std::time::Duration::from_secs(3600),
                        hit: 1
                    },
                    "{name}"
                );
                *refused.entry(client).or_default() += 1;
            }
        }
    }
    // Each client: 6 accepted (Mallory's among them when it came among the first six:
    // counted, then refused by the database), 4 refused by the throttle.
    for client in 0..CLIENTS {
        assert_eq!(accepted.get(&client), Some(&6), "{client}: {accepted:?}");
        assert_eq!(refused.get(&client), Some(&4), "{client}: {refused:?}");
    }
    let general: Vec<i32> = sqlx::query_scalar(
        "SELECT filled FROM throttle_keys WHERE key LIKE 'general:ip:10.9.0.%' ORDER BY key",
    )
    .fetch_all(store.pool())
    .await
    .expect("general");
    assert_eq!(general, vec![6; CLIENTS], "refusals are recorded nowhere");
    let (leads, webhooks, mails) = lead_and_event_counts(&store).await;
    let stored = i64::try_from(CLIENTS * 6 - failed).expect("small");
    assert_eq!((leads, webhooks, mails), (stored, stored, stored));
    let transactions = commits(&store).await - before;
    assert!(
        transactions < i64::try_from(CLIENTS * 10 / 2).expect("small"),
        "{transactions} transactions for {} creates: not batched",
        CLIENTS * 10
    );
    store.close().await;
    if let Ok(store) = Arc::try_unwrap(store) {
        drop(store);
    }
    db.drop_database().await;
}

/// A batch of throttle decisions decides its requests one after the other, exactly as
/// calls of their own would: a key's limit holds inside the batch, and a refused request
/// is recorded in none of its keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_throttle_decisions_is_the_calls_one_after_the_other() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    const HOUR: i64 = 3_600_000_000;
    // Requests (as runs of hits): r0 [k], r1 [k], r2 [other, k], r3 [k], r4 [other].
    // With k limited to 2 an hour and `other` to 1: r0, r1 accepted; r2 refused by k (its
    // hit 1) and not recorded in `other`; r3 refused; r4 accepted (other still empty).
    let answers: Vec<i64> = sqlx::query_scalar(
        "SELECT exit3_throttle_hits($1::int4[], $2::text[], $3::int4[], $4::int8[], $5::bool[], $6::int8[])",
    )
    .bind(vec![1_i32, 1, 2, 1, 1])
    .bind(vec!["t:k", "t:k", "t:other", "t:k", "t:k", "t:other"])
    .bind(vec![2_i32, 2, 1, 2, 2, 1])
    .bind(vec![HOUR; 6])
    .bind(vec![true; 6])
    .bind(vec![10_i64, 20, 30, 30, 40, 50])
    .fetch_one(store.pool())
    .await
    .expect("decided");
    assert_eq!(
        answers,
        [-1, 0, -1, 0, 1, HOUR + 10 - 30, 0, HOUR + 10 - 40, -1, 0],
        "accepted, accepted, refused by k (wait until 10 leaves), refused, accepted"
    );
    let (k, other): (i32, i32) = sqlx::query_as(
        "SELECT (SELECT filled FROM throttle_keys WHERE key = 't:k'), \
                (SELECT filled FROM throttle_keys WHERE key = 't:other')",
    )
    .fetch_one(store.pool())
    .await
    .expect("state");
    assert_eq!((k, other), (2, 1), "refusals were recorded nowhere");
    store.close().await;
    db.drop_database().await;
}

/// A batch that finds a key missing inserts it at the end, with its final state; when
/// another transaction inserted that key meanwhile, the batch decided on a state that
/// was not the latest: it must be decided again, against the other's records, not
/// counted twice. Here the other transaction fills the key's ring (limit 1) while the
/// batch waits for it, so the batch's request must be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_meanwhile_by_another_transaction_is_decided_again() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    let rate = Rate::new(1, std::time::Duration::from_secs(3600)).expect("rate");
    let key = "general:ip:198.51.100.7";
    let now = at(100);
    let micros = exit3_core::clock::to_micros(now);
    // The other instance's decision, not committed yet: the key with one accepted
    // request a second ago.
    let mut other = store.pool().begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO throttle_keys (key, cap, head, filled, newest, expires_at) \
         VALUES ($1, 1, 0, 1, $2, $2 + 3600000000)",
    )
    .bind(key)
    .bind(micros - 1_000_000)
    .execute(&mut *other)
    .await
    .expect("key");
    sqlx::query("INSERT INTO throttle_slots (key, slot, at) VALUES ($1, 0, $2)")
        .bind(key)
        .bind(micros - 1_000_000)
        .execute(&mut *other)
        .await
        .expect("slot");
    let hits = vec![ThrottleHit::new(
        exit3_core::ThrottleKey::custom(exit3_core::ThrottleScope::General, key),
        rate,
    )];
    let decision = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.hit(&hits, now).await })
    };
    // The batch does not see the uncommitted key, decides on an empty ring and waits
    // to insert the key until the other transaction ends.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !decision.is_finished(),
        "the batch waits for the other insert"
    );
    other.commit().await.expect("commit");
    match decision.await.expect("task").expect("decided") {
        ThrottleDecision::Refused { retry_after, .. } => {
            assert_eq!(retry_after, std::time::Duration::from_secs(3599));
        }
        ThrottleDecision::Accepted => panic!("accepted on a ring another instance filled"),
    }
    let (filled, slots): (i32, i64) = sqlx::query_as(
        "SELECT (SELECT filled FROM throttle_keys WHERE key = $1), \
                (SELECT count(*) FROM throttle_slots WHERE key = $1)",
    )
    .bind(key)
    .fetch_one(store.pool())
    .await
    .expect("state");
    assert_eq!((filled, slots), (1, 1), "the refusal was recorded nowhere");
    store.close().await;
    db.drop_database().await;
}

/// Of two hits that refuse with the same wait in whole seconds, the first is reported,
/// as the core defines it: here 2.999 s and 3.000 s are both 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ties_between_refusing_hits_are_broken_on_the_seconds_a_client_is_told() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let hit = |key: &str, secs| {
        ThrottleHit::new(
            exit3_core::ThrottleKey::custom(exit3_core::ThrottleScope::General, key),
            Rate::new(1, std::time::Duration::from_secs(secs)).expect("rate"),
        )
    };
    let (a, b) = (
        hit("general:ip:192.0.2.1", 10),
        hit("general:ip:192.0.2.2", 5),
    );
    let micros = exit3_core::clock::from_micros;
    for (hits, at) in [(vec![a.clone()], 0), (vec![b.clone()], 5_001_000)] {
        assert_eq!(
            store.hit(&hits, micros(at)).await.expect("hit"),
            ThrottleDecision::Accepted
        );
    }
    assert_eq!(
        store.hit(&[a, b], micros(7_001_000)).await.expect("hit"),
        ThrottleDecision::Refused {
            retry_after: std::time::Duration::from_secs(3),
            hit: 0
        }
    );
    store.close().await;
    db.drop_database().await;
}

/// One request of a generated batch: its hits as (key, whether it records).
type Request = Vec<(usize, bool)>;

/// A generated round: maybe new limits for the three keys, then a batch of requests,
/// each some microseconds after the one before.
#[derive(Debug, Clone)]
struct Round {
    limits: [Option<i32>; 3],
    requests: Vec<(Request, i64)>,
}

fn rounds() -> impl Strategy<Value = Vec<Round>> {
    // Small limits fill rings (the loop that can refuse); a large one leaves room for every
    // hit of a batch (the set-based path of migration 20261207001000).
    let limit = prop_oneof![
        5 => Just(None),
        1 => (1..=3_i32).prop_map(Some),
        1 => Just(Some(20)),
    ];
    let request = (
        proptest::collection::btree_map(0..3_usize, prop::bool::weighted(0.8), 1..=3)
            .prop_map(|hits| hits.into_iter().collect::<Request>()),
        0..40_i64,
    );
    let round = (
        [limit.clone(), limit.clone(), limit],
        proptest::collection::vec(request, 1..12),
    )
        .prop_map(|(limits, requests)| Round { limits, requests });
    proptest::collection::vec(round, 1..6)
}

/// Everything the throttle tables hold of the keys starting with `prefix`, with the
/// prefix taken off.
async fn throttle_state(pool: &sqlx::PgPool, prefix: &str) -> (Vec<String>, Vec<String>) {
    let keys = sqlx::query_scalar(
        "SELECT concat_ws(' ', substr(key, 3), cap, head, filled, newest, expires_at) \
           FROM throttle_keys WHERE key LIKE $1 || '%' ORDER BY key",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
    .expect("keys");
    let slots = sqlx::query_scalar(
        "SELECT concat_ws(' ', substr(key, 3), slot, at) \
           FROM throttle_slots WHERE key LIKE $1 || '%' ORDER BY key, slot",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
    .expect("slots");
    (keys, slots)
}

/// Whatever the batches — keys shared between requests, checked-only hits of keys that
/// others record, full rings, rings with room for the whole batch (decided without the
/// function's loop), limits that change between batches (a ring to rebuild) —
/// `exit3_throttle_hits` answers each request and leaves the tables exactly as calls of
/// `exit3_throttle_hit` one request at a time, each its own transaction, do.
#[test]
fn batched_decisions_equal_one_call_per_request() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let Some(db) = runtime.block_on(testing::test_db()) else {
        return;
    };
    let store = runtime.block_on(db.store());
    let pool = store.pool().clone();
    const PERIOD: i64 = 100;
    let config = ProptestConfig {
        cases: 150,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let refusals = std::cell::Cell::new(0_usize);
    let result = TestRunner::new(config).run(&rounds(), |rounds| {
        runtime.block_on(async {
            sqlx::query("TRUNCATE throttle_keys, throttle_slots")
                .execute(&pool)
                .await
                .expect("truncated");
            let mut limits = [2_i32, 1, 3];
            let mut now = 1_000_i64;
            for round in &rounds {
                for (limit, new) in limits.iter_mut().zip(round.limits) {
                    *limit = new.unwrap_or(*limit);
                }
                let (mut sizes, mut keys, mut lims, mut records, mut nows) =
                    (vec![], vec![], vec![], vec![], vec![]);
                let mut expected = Vec::new();
                for (request, step) in &round.requests {
                    now += step;
                    let size = i32::try_from(request.len()).expect("small");
                    sizes.push(size);
                    let one_keys: Vec<String> =
                        request.iter().map(|(k, _)| format!("b:{k}")).collect();
                    let one_limits: Vec<i32> = request.iter().map(|(k, _)| limits[*k]).collect();
                    let one_records: Vec<bool> = request.iter().map(|(_, r)| *r).collect();
                    let answer: Option<Vec<i64>> = sqlx::query_scalar(
                        "SELECT exit3_throttle_hit($1::text[], $2::int4[], $3::int8[], \
                                                   $4::bool[], $5::int8)",
                    )
                    .bind(&one_keys)
                    .bind(&one_limits)
                    .bind(vec![PERIOD; request.len()])
                    .bind(&one_records)
                    .bind(now)
                    .fetch_one(&pool)
                    .await
                    .expect("one call");
                    expected.extend(answer.unwrap_or_else(|| vec![-1, 0]));
                    keys.extend(request.iter().map(|(k, _)| format!("a:{k}")));
                    lims.extend(one_limits);
                    records.extend(one_records);
                    nows.extend(std::iter::repeat_n(now, request.len()));
                }
                let answers: Vec<i64> = sqlx::query_scalar(
                    "SELECT exit3_throttle_hits($1::int4[], $2::text[], $3::int4[], \
                                                $4::int8[], $5::bool[], $6::int8[])",
                )
                .bind(&sizes)
                .bind(&keys)
                .bind(&lims)
                .bind(vec![PERIOD; keys.len()])
                .bind(&records)
                .bind(&nows)
                .fetch_one(&pool)
                .await
                .expect("batch");
                prop_assert_eq!(&answers, &expected, "answers of {:?}", round);
                refusals.set(refusals.get() + expected.chunks(2).filter(|a| a[0] >= 0).count());
                let batched = throttle_state(&pool, "a:").await;
                let one_by_one = throttle_state(&pool, "b:").await;
                prop_assert_eq!(batched, one_by_one, "state after {:?}", round);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        refusals.get() > 100,
        "the batches met full rings: {}",
        refusals.get()
    );
    runtime.block_on(async {
        store.close().await;
        db.drop_database().await;
    });
}

/// Every subscriber of `store`, a page at a time.
async fn everyone(store: &dyn SubscriberStore) -> Vec<Subscriber> {
    let mut all = Vec::new();
    for n in 1.. {
        let page = PageRequest::new(n, 100).expect("page");
        let got = store
            .list_subscribers(&SubscriberFilter::default(), Ordering::default(), page)
            .await
            .expect("list");
        let done = got.items.len() < 100;
        all.extend(got.items);
        if done {
            return all;
        }
    }
    all
}

/// The subscribe calls of [`concurrent_subscribes_share_commits_and_equal_one_after_the_other`]:
/// (address, full name, double opt-in).
fn subscribe_calls() -> Vec<(String, String, bool)> {
    let mut calls = Vec::new();
    // New addresses, half with double opt-in; one row the database refuses.
    for i in 0..100 {
        let name = if i == 50 {
            "Mallory".to_owned()
        } else {
            format!("Reader {i}")
        };
        calls.push((format!("reader{i}@example.com"), name, i % 2 == 0));
    }
    // Addresses waiting for their confirmation since before: a confirmation is sent again.
    for i in 0..20 {
        calls.push((
            format!("Returning{i}@example.com"),
            format!("Returning {i}"),
            true,
        ));
    }
    // One address five times in a row, in two spellings: one subscriber.
    for i in 0..4 {
        for r in 0..5 {
            let email = if r % 2 == 0 {
                format!("shared{i}@example.com")
            } else {
                format!("SHARED{i}@example.com")
            };
            calls.push((email, format!("Shared {i}"), true));
        }
    }
    calls
}

/// Subscribes that arrive together share transactions, and yet each is answered as
/// the same calls one after the other are answered by the memory store: the same
/// outcomes (a repeated address's as a multiset, its calls' order being the race's), the
/// same subscribers, history entries, confirmation mails and webhook deliveries; and a
/// row the database refuses fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_subscribes_share_commits_and_equal_one_after_the_other() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = Arc::new(db.store().await);
    let memory = exit3_store_memory::MemoryStore::new();
    add_endpoint(&store).await;
    sqlx::query(
        "ALTER TABLE newsletter_subscribers ADD CONSTRAINT test_refuses_mallory \
         CHECK (full_name IS DISTINCT FROM 'Mallory')",
    )
    .execute(store.pool())
    .await
    .expect("constraint");
    let request = |email: &str, name: &str, double: bool| {
        subscribe_request(json!({"email": email, "full_name": name}), double)
    };
    // Before: the returning addresses wait for their confirmation, in both stores.
    let mut states: HashMap<String, Subscriber> = HashMap::new();
    for i in 0..20 {
        let email = format!("returning{i}@example.com");
        let r = request(&email, &format!("Returning {i}"), true);
        store
            .subscribe(&r, &Actor::Public, at(0))
            .await
            .expect("before");
        let (s, _) = memory
            .subscribe(&r, &Actor::Public, at(0))
            .await
            .expect("before");
        states.insert(email, s);
    }
    let before = commits(&store).await;
    let now = at(7200);
    let calls = subscribe_calls();
    let tasks: Vec<_> = calls
        .iter()
        .map(|(email, name, double)| {
            let store = store.clone();
            let r = request(email, name, *double);
            tokio::spawn(async move { store.subscribe(&r, &Actor::Public, now).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("joined"));
    }
    let transactions = commits(&store).await - before;
    assert!(
        transactions < (calls.len() as i64) * 3 / 4,
        "{transactions} transactions for {} subscribes: not batched",
        calls.len()
    );

    // The same calls one after the other, on the memory store (without the refused
    // one), and what each announced.
    let mut expected = Vec::new();
    let mut events = 0;
    for (email, name, double) in &calls {
        if name == "Mallory" {
            expected.push(None);
            continue;
        }
        let key = email.to_lowercase();
        let (after, outcome) = memory
            .subscribe(&request(email, name, *double), &Actor::Public, now)
            .await
            .expect("memory");
        let status_before = states.get(&key).and_then(Subscriber::announced_status);
        events += usize::from(Event::subscriber_change(status_before, &after, now).is_some());
        states.insert(key, after);
        expected.push(Some(outcome));
    }
    let mut repeated: HashMap<String, (Vec<SubscribeOutcome>, Vec<SubscribeOutcome>)> =
        HashMap::new();
    for (((email, name, _), answer), want) in calls.iter().zip(&answers).zip(&expected) {
        let Some(want) = want else {
            assert!(answer.is_err(), "the refused row fails alone: {answer:?}");
            continue;
        };
        let (subscriber, outcome) = answer.as_ref().unwrap_or_else(|e| panic!("{email}: {e:?}"));
        assert_eq!(subscriber.email.to_lowercase(), email.to_lowercase());
        assert_eq!(subscriber.full_name.as_deref(), Some(name.as_str()));
        if email.to_lowercase().starts_with("shared") {
            let entry = repeated.entry(email.to_lowercase()).or_default();
            entry.0.push(*outcome);
            entry.1.push(*want);
        } else {
            assert_eq!(outcome, want, "{email}");
        }
    }
    assert_eq!(repeated.len(), 4);
    for (email, (mut got, mut want)) in repeated {
        got.sort_by_key(|o| format!("{o:?}"));
        want.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(got, want, "{email}");
    }

    // The same subscribers, in the same states.
    let all = |s: Vec<Subscriber>| -> Vec<(String, String, usize)> {
        let mut v: Vec<_> = s
            .into_iter()
            .map(|s| {
                (
                    s.email.to_lowercase(),
                    s.status.as_str().to_owned(),
                    s.confirmations_sent.len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let stored = everyone(&*store).await;
    let remembered = everyone(&memory).await;
    let mails_expected: usize = stored.iter().map(|s| s.confirmations_sent.len()).sum();
    assert_eq!(stored.len(), 123, "99 readers, 20 returning, 4 shared");
    assert_eq!(all(stored), all(remembered));

    // The same history; a mail per confirmation sent; a delivery per announcement.
    let page = PageRequest::default();
    let history = |h: exit3_core::Page<exit3_core::HistoryEntry>| h.count;
    assert_eq!(
        history(
            store
                .list_history(&HistoryFilter::default(), page)
                .await
                .expect("history")
        ),
        history(
            memory
                .list_history(&HistoryFilter::default(), page)
                .await
                .expect("history")
        ),
    );
    let (mails, webhooks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM outbox WHERE kind = 'mail'), \
                (SELECT count(*) FROM outbox o JOIN webhook_deliveries d ON d.outbox_id = o.id)",
    )
    .fetch_one(store.pool())
    .await
    .expect("counts");
    assert_eq!(usize::try_from(mails).unwrap_or(0), mails_expected);
    assert_eq!(usize::try_from(webhooks).unwrap_or(0), events);
    assert!(events > 0 && mails_expected > 0);
    store.close().await;
    if let Ok(store) = Arc::try_unwrap(store) {
        drop(store);
    }
    db.drop_database().await;
}
