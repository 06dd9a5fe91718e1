//! The conformance of [`Maintenance`](crate::store::Maintenance).

use serde_json::json;

use super::{at, hit, new_lead};
use crate::{
    domain::{LeadPatch, LeadStatus},
    query::{LeadFilter, Ordering, PageRequest},
    store::DynStore,
    throttle::ThrottleDecision,
};

/// A purge removes exactly the keys whose newest accepted time has left its window,
/// in batches, and what it keeps decides as before.
pub async fn maintenance_purges_only_expired_throttle_state(store: DynStore) {
    // Three keys of 1/minute at 0 s, one of 1/hour at 0 s, one of 1/minute at 50 s.
    for key in [
        "general:ip:10.9.0.1",
        "general:ip:10.9.0.2",
        "general:ip:10.9.0.3",
    ] {
        assert_eq!(
            store.hit(&[hit(key, 1, 60)], at(0)).await.expect("hit"),
            ThrottleDecision::Accepted
        );
    }
    store
        .hit(&[hit("admin:key:long", 1, 3600)], at(0))
        .await
        .expect("hit");
    store
        .hit(&[hit("general:ip:10.9.0.9", 1, 60)], at(50))
        .await
        .expect("hit");
    // At 30 s nothing has expired.
    assert_eq!(store.purge_throttle(at(30), 10).await.expect("purge"), 0);
    // At 60 s the first three have: a batch of 2, then the last 1, then none.
    assert_eq!(store.purge_throttle(at(60), 2).await.expect("purge"), 2);
    assert_eq!(store.purge_throttle(at(60), 2).await.expect("purge"), 1);
    assert_eq!(store.purge_throttle(at(60), 2).await.expect("purge"), 0);
    // The kept keys still refuse within their windows ...
    for (key, limit, period) in [("admin:key:long", 1, 3600), ("general:ip:10.9.0.9", 1, 60)] {
        let d = store
            .hit(&[hit(key, limit, period)], at(61))
            .await
            .expect("hit");
        assert!(
            matches!(d, ThrottleDecision::Refused { .. }),
            "{key}: {d:?}"
        );
    }
    // ... and a purged key starts afresh, as it would have anyway.
    let d = store
        .hit(&[hit("general:ip:10.9.0.1", 1, 60)], at(61))
        .await
        .expect("hit");
    assert_eq!(d, ThrottleDecision::Accepted);
}

/// Counts are exact before and after compaction, whatever was written in between.
pub async fn maintenance_keeps_counts_exact(store: DynStore) {
    let page = PageRequest::new(1, 10).expect("page");
    let mut ids = Vec::new();
    for i in 0..30 {
        let lead = store
            .insert_lead(
                &new_lead(json!({"full_name": format!("L{i}"), "position": "P"})),
                &Default::default(),
                &crate::Actor::System,
                at(i),
            )
            .await
            .expect("insert");
        ids.push(lead.id);
    }
    let contacted = LeadPatch::default().with_status(LeadStatus::Contacted);
    for id in &ids[..7] {
        store
            .update_lead(*id, &contacted, &crate::Actor::System, at(40))
            .await
            .expect("update");
    }
    for id in &ids[20..] {
        store
            .delete_lead(*id, &crate::Actor::System, at(0))
            .await
            .expect("delete");
    }
    let counts = |store: DynStore| async move {
        let mut out = Vec::new();
        for status in [None, Some(LeadStatus::New), Some(LeadStatus::Contacted)] {
            let filter = LeadFilter {
                status,
                ..LeadFilter::default()
            };
            let listed = store
                .list_leads(&filter, Ordering::default(), page)
                .await
                .expect("list");
            out.push(listed.count);
        }
        out
    };
    assert_eq!(counts(store.clone()).await, vec![20, 13, 7]);
    store.compact_counts().await.expect("compact");
    store.compact_counts().await.expect("compact again");
    assert_eq!(counts(store.clone()).await, vec![20, 13, 7]);
}
