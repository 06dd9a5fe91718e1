//! PostgreSQL-specific guarantees beyond the conformance suite: concurrent migrations,
//! bounded throttle state, the start-up connect's back-off, the subscriber index name,
//! exact lead counts.

use exit3_store_postgres::testing;

use std::time::{Duration, Instant};

use exit3_core::{
    LeadFilter, LeadPatch, LeadStatus, Ordering, PageRequest, Payload, Policy, StoreError,
    ThrottleDecision, ThrottleHit,
    store::{LeadStore, Maintenance, ThrottleStore},
    testing::{at, new_lead},
    throttle::Rate,
};
use exit3_store_postgres::{PostgresOptions, PostgresStore};
use serde_json::json;
use sqlx::ConnectOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_migrating_at_once_both_succeed() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    // The test database is already migrated from the template: start from nothing.
    let store = db.store().await;
    for sql in ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] {
        sqlx::query(sql)
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (a, b) = (db.store().await, db.store().await);
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap_or_else(|e| panic!("first: {e:?}"));
    rb.unwrap_or_else(|e| panic!("second: {e:?}"));
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        n,
        i64::try_from(exit3_store_postgres::MIGRATOR.iter().count()).unwrap_or(0)
    );
    // And again: nothing to do.
    a.migrate().await.unwrap_or_else(|e| panic!("again: {e:?}"));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_state_stays_bounded_by_the_active_keys() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let rate = Rate::new(3, Duration::from_secs(60)).unwrap_or_else(|| panic!("rate"));
    // 2,000 distinct clients, one every second: at most 60 are active in a window.
    let mut peak = 0;
    for i in 0..2_000i64 {
        let hit = ThrottleHit::new(
            exit3_core::ThrottleKey::custom(
                exit3_core::ThrottleScope::General,
                format!("general:ip:10.1.{}.{}", i / 256, i % 256),
            ),
            rate,
        );
        let d = store
            .hit(&[hit], at(i))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(d, ThrottleDecision::Accepted);
        if i % 100 == 99 {
            peak = peak.max(store.throttle_key_count().await.unwrap_or(u64::MAX));
        }
        // The maintenance task, here every 64 simulated seconds.
        if i % 64 == 63 {
            store
                .purge_throttle(at(i), 1000)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
    }
    // At most 60 active keys plus the 64 since the last purge.
    assert!(peak <= 60 + 64, "peak of {peak} keys");
    let left = store
        .purge_expired_throttle_state(at(10_000))
        .await
        .unwrap_or(0);
    assert!(left <= 60 + 64);
    assert_eq!(store.throttle_key_count().await.ok(), Some(0));
    // The slots go with their keys.
    let (slots,): (i64,) = sqlx::query_as("SELECT count(*) FROM throttle_slots")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(slots, 0);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_holds_one_row_per_kept_time_whatever_the_hits() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let rate = Rate::new(5, Duration::from_secs(10)).unwrap_or_else(|| panic!("rate"));
    let hit = ThrottleHit::new(
        exit3_core::ThrottleKey::custom(exit3_core::ThrottleScope::Admin, "admin:key:k"),
        rate,
    );
    for i in 0..100 {
        let _ = store.hit(std::slice::from_ref(&hit), at(i)).await;
    }
    let (slots,): (i64,) = sqlx::query_as("SELECT count(*) FROM throttle_slots")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(slots, 5);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_retries_until_its_time_is_up() {
    // Nothing listens on this port (bound, then closed).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().map(|a| a.port()).unwrap_or(1)
    };
    let started = Instant::now();
    let r = PostgresStore::connect(
        PostgresOptions::new(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
            .connect_retry_for(Duration::from_millis(800)),
    )
    .await;
    let took = started.elapsed();
    assert!(matches!(r, Err(StoreError::Unavailable { .. })), "{r:?}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // A URL that cannot be read is a configuration error, answered at once.
    let r = PostgresStore::connect(PostgresOptions::new("postgres://[::1")).await;
    assert!(matches!(r, Err(StoreError::Other { .. })), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_waits_for_a_database_that_comes_up_late() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    // Reserve a port, start connecting, then open a forwarder on it after 600 ms.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(1);
    drop(listener);
    let upstream = format!("{}:{}", db.options.get_host(), db.options.get_port());
    let url = db
        .options
        .clone()
        .host("127.0.0.1")
        .port(port)
        .to_url_lossy()
        .to_string();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    let store = PostgresStore::connect(
        PostgresOptions::new(url).connect_retry_for(Duration::from_secs(10)),
    )
    .await
    .unwrap_or_else(|e| panic!("connect: {e:?}"));
    exit3_core::store::HealthCheck::health(&store)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    store.close().await;
    late.abort();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_stores_sharing_a_database_throttle_as_one() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    // Four instances, each with its own pool: like four server processes.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(db.store().await);
    }
    let rate = Rate::new(10, Duration::from_secs(3600)).unwrap_or_else(|| panic!("rate"));
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for j in 0..25 {
            let store = store.clone();
            let hits = vec![
                ThrottleHit::new(
                    exit3_core::ThrottleKey::custom(
                        exit3_core::ThrottleScope::General,
                        "general:ip:203.0.113.5",
                    ),
                    rate,
                ),
                ThrottleHit::new(
                    exit3_core::ThrottleKey::custom(
                        exit3_core::ThrottleScope::LeadCreate,
                        format!("lead_create:ip:203.0.113.5:{}", (i + j) % 3),
                    ),
                    Rate::new(100, Duration::from_secs(3600)).unwrap_or_else(|| panic!("rate")),
                ),
            ];
            tasks.push(tokio::spawn(async move { store.hit(&hits, at(1)).await }));
        }
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(ThrottleDecision::Accepted) => accepted += 1,
            Ok(ThrottleDecision::Refused { retry_after, .. }) => {
                assert_eq!(retry_after, Duration::from_secs(3600));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(accepted, 10);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_does_not_wait_for_another_keys_lock() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let rate = Rate::new(5, Duration::from_secs(60)).unwrap_or_else(|| panic!("rate"));
    let hit = |key: &str| {
        ThrottleHit::new(
            exit3_core::ThrottleKey::custom(exit3_core::ThrottleScope::General, key),
            rate,
        )
    };
    store
        .hit(&[hit("general:ip:a")], at(0))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Another transaction holds key a's row for as long as it likes.
    let mut holder = store.pool().begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT 1 FROM throttle_keys WHERE key = 'general:ip:a' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let d = tokio::time::timeout(
        Duration::from_secs(2),
        store.hit(&[hit("general:ip:b")], at(1)),
    )
    .await
    .unwrap_or_else(|_| panic!("key b waited for key a"))
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(d, ThrottleDecision::Accepted);
    // An expired-key purge skips the locked row instead of waiting for it.
    let purged = tokio::time::timeout(
        Duration::from_secs(2),
        store.purge_expired_throttle_state(at(3600)),
    )
    .await
    .unwrap_or_else(|_| panic!("the purge waited for a locked key"))
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(purged, 1, "b goes, a is skipped while locked");
    eprintln!(
        "key b decided in {:?} while key a was locked",
        started.elapsed()
    );
    holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lead_counts_stay_exact_under_concurrent_writes_and_folds() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    // Three instances write and fold at once.
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(db.store().await);
    }
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..60 {
                let lead = store
                    .insert_lead(
                        &new_lead(json!({"full_name": format!("L {i} {j}"), "position": "P"})),
                        &Default::default(),
                        &exit3_core::Actor::System,
                        at(j),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"));
                match j % 4 {
                    1 => {
                        let patch = LeadPatch::partial(
                            &Payload::from_json(json!({"status": "contacted"}))
                                .unwrap_or_else(|e| panic!("{e}")),
                            &Policy::default(),
                        )
                        .unwrap_or_else(|e| panic!("{e}"));
                        store
                            .update_lead(lead.id, &patch, &exit3_core::Actor::System, at(j))
                            .await
                            .unwrap_or_else(|e| panic!("{e:?}"));
                    }
                    2 => {
                        store
                            .delete_lead(lead.id, &exit3_core::Actor::System, at(0))
                            .await
                            .unwrap_or_else(|e| panic!("{e:?}"));
                    }
                    _ => {}
                }
                if j % 7 == 0 {
                    store
                        .fold_lead_counts()
                        .await
                        .unwrap_or_else(|e| panic!("{e:?}"));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let store = &stores[0];
    let count = |status: Option<LeadStatus>| async move {
        let filter = LeadFilter {
            status,
            ..LeadFilter::default()
        };
        let listed = store
            .list_leads(&filter, Ordering::default(), PageRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        listed.count
    };
    let scanned = |status: &'static str| async move {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM leads WHERE status = $1 OR $1 = 'any'")
                .bind(status)
                .fetch_one(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        u64::try_from(n).unwrap_or(0)
    };
    // 180 inserted, 45 deleted; of the rest, 45 contacted and 90 new.
    assert_eq!(count(None).await, 135);
    assert_eq!(scanned("any").await, 135);
    assert_eq!(count(Some(LeadStatus::New)).await, 90);
    assert_eq!(scanned("new").await, 90);
    assert_eq!(count(Some(LeadStatus::Contacted)).await, 45);
    assert_eq!(count(Some(LeadStatus::Lost)).await, 0);
    store
        .fold_lead_counts()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM lead_status_counts")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows, 2, "one row per status after a fold");
    assert_eq!(count(Some(LeadStatus::New)).await, 90);
    // Writers other than the store (here 100 statements by hand) never fold; the
    // maintenance task does, whoever wrote.
    for i in 0..100 {
        sqlx::query(
            "INSERT INTO leads (full_name, position, status, source, category, created_at, \
             updated_at) VALUES ($1, 'P', 'new', 'website', 'other', now(), now())",
        )
        .bind(format!("by hand {i}"))
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    for _ in 0..64 {
        assert_eq!(count(Some(LeadStatus::New)).await, 190);
    }
    store
        .compact_counts()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(count(Some(LeadStatus::New)).await, 190);
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM lead_status_counts")
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rows <= 3,
        "{rows} rows after 64 lists and a maintenance step"
    );
    // A TRUNCATE by hand empties the counts too.
    sqlx::query("TRUNCATE leads CASCADE")
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(None).await, 0);
    db.drop_database().await;
}

/// The throttle tables write no WAL (migration 20261207001100): throttle state is soft,
/// and its WAL competed with the leads'.
#[tokio::test]
async fn the_throttle_tables_are_unlogged_and_the_rest_are_not() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let unlogged: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class \
          WHERE relpersistence = 'u' AND relkind = 'r' \
            AND relnamespace = 'public'::regnamespace ORDER BY relname",
    )
    .fetch_all(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unlogged, ["throttle_keys", "throttle_slots"]);
    db.drop_database().await;
}

/// The trigram index merges its pending list at 256 kB, not at the default 4 MB (the
/// insert that merges waits for it: migration 20261207000900).
#[tokio::test]
async fn the_search_index_merges_its_pending_list_in_small_steps() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let store = db.store().await;
    let (options,): (Vec<String>,) = sqlx::query_as(
        "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = 'leads_search_trgm'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(options, ["gin_pending_list_limit=256"]);
    db.drop_database().await;
}
