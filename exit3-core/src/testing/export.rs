//! The conformance of an export's batches ([`LeadStore::list_leads_after`],
//! [`SubscriberStore::list_subscribers_after`]): walked by keyset in every ordering,
//! they give exactly the list's rows in the list's order, ties and missing names
//! included.
//!
//! [`LeadStore::list_leads_after`]: crate::store::LeadStore::list_leads_after
//! [`SubscriberStore::list_subscribers_after`]: crate::store::SubscriberStore::list_subscribers_after

use serde_json::json;

use super::{at, new_lead, new_subscriber};
use crate::{
    domain::{Actor, LeadId, SubscriberId},
    events::LeadEffects,
    query::{LeadFilter, Ordering, PageRequest, QuarantineFilter, SubscriberFilter},
    store::DynStore,
};

/// Every ordering (and a filter), walked three rows at a time, equals the list.
pub async fn export_batches_walk_every_ordering_by_keyset(store: DynStore) {
    let none = LeadEffects::silent();
    // Ties everywhere: three leads at each time, names repeated, every status.
    for i in 0..14_i64 {
        let status = ["new", "contacted", "lost"][(i % 3) as usize];
        let name = ["Ada", "Bob", "Éve", "ada"][(i % 4) as usize];
        store
            .insert_lead(
                &new_lead(json!({"full_name": name, "position": "X", "status": status})),
                &none,
                &Actor::System,
                at(i / 3),
            )
            .await
            .expect("insert");
    }
    for i in 0..11_i64 {
        let mut body = json!({ "email": format!("s{i}@example.com") });
        if i % 3 != 0 {
            body["full_name"] = json!(["Zoe", "Al", "Al"][(i % 3) as usize]);
        }
        store
            .subscribe(&new_subscriber(body), &Actor::System, at(i / 4))
            .await
            .expect("subscribe");
    }
    let lead_filters = [
        LeadFilter::default(),
        LeadFilter {
            status: crate::domain::LeadStatus::parse("new"),
            quarantined: QuarantineFilter::All,
            ..LeadFilter::default()
        },
    ];
    for ordering in Ordering::ALL {
        for filter in &lead_filters {
            let listed = store
                .list_leads(filter, ordering, PageRequest::new(1, 100).expect("page"))
                .await
                .expect("list");
            let want: Vec<LeadId> = listed.items.iter().map(|l| l.id).collect();
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let batch = store
                    .list_leads_after(filter, ordering, after.as_ref(), 3)
                    .await
                    .expect("batch");
                assert!(batch.len() <= 3);
                got.extend(batch.iter().map(|l| l.id));
                match batch.into_iter().last() {
                    Some(last) => after = Some(last),
                    None => break,
                }
            }
            assert_eq!(got, want, "{} {filter:?}", ordering.as_param());
        }
        let filter = SubscriberFilter::default();
        let listed = store
            .list_subscribers(&filter, ordering, PageRequest::new(1, 100).expect("page"))
            .await
            .expect("list");
        let want: Vec<SubscriberId> = listed.items.iter().map(|s| s.id).collect();
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let batch = store
                .list_subscribers_after(&filter, ordering, after.as_ref(), 2)
                .await
                .expect("batch");
            got.extend(batch.iter().map(|s| s.id));
            match batch.into_iter().last() {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        assert_eq!(got, want, "subscribers {}", ordering.as_param());
    }
}
