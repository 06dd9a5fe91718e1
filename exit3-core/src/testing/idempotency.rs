//! The conformance of [`IdempotencyStore`](crate::store::IdempotencyStore): records
//! follow [`Record::begin`](crate::idempotency::Record::begin)'s table, one of many
//! concurrent begins starts, and maintenance removes what expired.

use std::sync::Arc;

use super::at;
use crate::{
    idempotency::{Begun, Fingerprint, RecordKey, StoredAnswer},
    store::DynStore,
};

fn key(n: u8) -> RecordKey {
    RecordKey([n; 32])
}

fn print(body: &[u8]) -> Fingerprint {
    Fingerprint::of("POST", "/backend/api/v1/leads/", body)
}

/// First use starts; the same request while it runs is `Running`, another request is a
/// `Mismatch`; a kept answer is replayed to the same request only; a released key starts
/// again; a lease that ran out lets the same request take over; an expired record is
/// anyone's; keys are independent.
pub async fn idempotency_records_follow_the_table(store: DynStore) {
    let (a, b) = (print(b"{\"a\":1}"), print(b"{\"a\":2}"));
    let begin = |k, f, now: i64| {
        let store = Arc::clone(&store);
        async move {
            store
                .begin_idempotent(k, f, at(now), at(now + 60), at(now + 3600))
                .await
                .expect("begin")
        }
    };
    assert_eq!(begin(key(1), a, 0).await, Begun::Started);
    assert_eq!(begin(key(1), a, 1).await, Begun::Running);
    assert_eq!(begin(key(1), b, 1).await, Begun::Mismatch);
    assert_eq!(
        begin(key(2), b, 1).await,
        Begun::Started,
        "keys are independent"
    );

    let answer = StoredAnswer {
        status: 201,
        body: "{\"id\":7,\"full_name\":\"Ada\"}".into(),
    };
    store
        .finish_idempotent(key(1), &answer)
        .await
        .expect("finish");
    assert_eq!(begin(key(1), a, 2).await, Begun::Answered(answer.clone()));
    assert_eq!(
        begin(key(1), a, 500).await,
        Begun::Answered(answer),
        "kept past the lease"
    );
    assert_eq!(begin(key(1), b, 2).await, Begun::Mismatch);

    store.release_idempotent(key(2)).await.expect("release");
    assert_eq!(
        begin(key(2), a, 3).await,
        Begun::Started,
        "released: free again"
    );

    assert_eq!(
        begin(key(2), a, 62).await,
        Begun::Running,
        "the lease holds to 63"
    );
    assert_eq!(
        begin(key(2), b, 63).await,
        Begun::Mismatch,
        "only the same request"
    );
    assert_eq!(
        begin(key(2), a, 63).await,
        Begun::Started,
        "lease over: taken over"
    );

    assert_eq!(
        begin(key(1), b, 3600).await,
        Begun::Started,
        "expired: anyone's"
    );
    // A release after an answer was kept changes nothing.
    let kept = StoredAnswer {
        status: 400,
        body: "{\"full_name\":[\"This field is required.\"]}".into(),
    };
    store
        .finish_idempotent(key(1), &kept)
        .await
        .expect("finish");
    store.release_idempotent(key(1)).await.expect("release");
    assert_eq!(begin(key(1), b, 3601).await, Begun::Answered(kept));
}

/// Of many requests that begin one key at once, exactly one starts; the others see it
/// running.
pub async fn concurrent_idempotent_begins_start_once(store: DynStore) {
    let fingerprint = print(b"{}");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .begin_idempotent(key(9), fingerprint, at(0), at(60), at(3600))
                    .await
                    .expect("begin")
            })
        })
        .collect();
    let mut started = 0;
    for task in tasks {
        match task.await.expect("task") {
            Begun::Started => started += 1,
            Begun::Running => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(started, 1);
}

/// Maintenance removes expired records only, in batches.
pub async fn maintenance_purges_only_expired_idempotency_records(store: DynStore) {
    for n in 0..5u8 {
        let expires = at(100 + i64::from(n) * 10);
        store
            .begin_idempotent(key(n), print(&[n]), at(0), at(60), expires)
            .await
            .expect("begin");
    }
    assert_eq!(store.purge_idempotency(at(99), 10).await.expect("purge"), 0);
    assert_eq!(store.purge_idempotency(at(125), 1).await.expect("purge"), 1);
    assert_eq!(
        store.purge_idempotency(at(125), 10).await.expect("purge"),
        2
    );
    // What is left still answers as before.
    assert_eq!(
        store
            .begin_idempotent(key(4), print(&[4]), at(126), at(186), at(3600))
            .await
            .expect("begin"),
        Begun::Started,
        "its lease (60) had run out"
    );
    assert_eq!(
        store
            .begin_idempotent(key(3), print(&[9]), at(126), at(186), at(3600))
            .await
            .expect("begin"),
        Begun::Mismatch,
        "not purged"
    );
}
