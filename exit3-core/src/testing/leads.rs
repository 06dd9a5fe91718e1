//! The conformance of [`LeadStore`](crate::store::LeadStore).

use serde_json::{Value, json};

use super::{at, new_lead, new_lead_from};
use crate::{
    clock::Timestamp,
    domain::{ClientInfo, Lead, LeadId, LeadPatch, LeadStatus, Origin, Policy},
    input::Payload,
    query::{LeadFilter, Ordering, PageRequest, Search, paginate},
    store::DynStore,
};

fn lead_patch(body: Value) -> LeadPatch {
    LeadPatch::partial(
        &Payload::from_json(body).expect("object"),
        &Policy::default(),
    )
    .expect("a valid patch")
}

async fn insert(store: &DynStore, body: Value, now: Timestamp) -> Lead {
    store
        .insert_lead(
            &new_lead(body),
            &Default::default(),
            &crate::Actor::System,
            now,
        )
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
        .insert_lead(
            &new_lead_from(body, &origin),
            &Default::default(),
            &crate::Actor::System,
            at(1),
        )
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
        store
            .update_lead(id, &patch, &crate::Actor::System, at(1))
            .await
            .expect("update"),
        None
    );
    assert!(
        !store
            .delete_lead(id, &crate::Actor::System, at(0))
            .await
            .expect("delete")
    );
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
        .update_lead(lead.id, &patch, &crate::Actor::System, at(5))
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
        .update_lead(lead.id, &empty, &crate::Actor::System, at(9))
        .await
        .expect("update");
    assert_eq!(touched.map(|l| l.updated_at), Some(at(9)));
}

/// A deleted lead is gone, from reads and lists.
pub async fn lead_delete_removes_the_lead(store: DynStore) {
    let a = insert(&store, json!({"full_name": "A", "position": "P"}), at(1)).await;
    let b = insert(&store, json!({"full_name": "B", "position": "P"}), at(2)).await;
    assert!(
        store
            .delete_lead(a.id, &crate::Actor::System, at(0))
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_lead(a.id, &crate::Actor::System, at(0))
            .await
            .expect("delete twice")
    );
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
            .update_lead(lead.id, &lead_patch(json!({})), &crate::Actor::System, t)
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

/// Per-day counts take each accepted lead in the 24-hour span it was created in, from
/// the first span's start (inclusive) to the last one's end (exclusive); quarantined and
/// deleted leads are not counted.
pub async fn lead_counts_by_day(store: DynStore) {
    const DAY: i64 = 86_400;
    for t in [-1, 0, 5, DAY - 1, DAY, 2 * DAY + 7, 3 * DAY] {
        insert(&store, json!({"full_name": "A", "position": "B"}), at(t)).await;
    }
    let doubtful = new_lead(json!({"full_name": "Q", "position": "B"})).with_quarantine(Some(
        crate::spam::Quarantine {
            reasons: vec![crate::spam::SpamReason::Honeypot],
            at: at(10),
        },
    ));
    store
        .insert_lead(
            &doubtful,
            &Default::default(),
            &crate::Actor::System,
            at(10),
        )
        .await
        .expect("insert");
    let gone = insert(&store, json!({"full_name": "D", "position": "B"}), at(20)).await;
    store
        .delete_lead(gone.id, &crate::Actor::System, at(21))
        .await
        .expect("delete");
    assert_eq!(
        store.count_leads_by_day(at(0), 3).await.expect("counts"),
        [3, 1, 1]
    );
    assert_eq!(
        store.count_leads_by_day(at(-DAY), 1).await.expect("counts"),
        [1]
    );
    assert_eq!(
        store
            .count_leads_by_day(at(10 * DAY), 2)
            .await
            .expect("counts"),
        [0, 0]
    );
}
