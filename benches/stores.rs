//! Store operations, generic over the store: insert a lead, list page 1 of the new ones,
//! subscribe a new address with double opt-in off and on (the outbox row), and one public
//! create's throttle decision — on `MemoryStore`, and on `PostgresStore`
//! when `DATABASE_URL` is set (a fresh, migrated database from the store's harness).
//!
//! `cargo bench --bench stores --features postgres`

use std::{net::IpAddr, sync::Arc, time::Duration};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exit3::{
    DynStore, LeadFilter, LeadStatus, MemoryStore, NewLead, Ordering, PageRequest, Rate,
    ThrottleHit, ThrottleScope, Timestamp, testing,
};
use serde_json::json;
use tokio::runtime::Runtime;

/// Leads in the table before the list is measured (a fifth of them `new`).
const SEED: u32 = 5_000;

fn lead(i: u32) -> NewLead {
    let status = ["new", "contacted", "qualified", "converted", "lost"][(i % 5) as usize];
    testing::new_lead_from(
        json!({
            "full_name": format!("Lead {i}"),
            "position": "CTO",
            "company_name": "Analytical Engines",
            "email": format!("lead{i}@example.com"),
            "message": "We would like to talk about a new project.",
            "status": status,
            "utm_source": "google"
        }),
        &exit3::Origin {
            ip: Some(IpAddr::from([10, 1, 2, 3])),
            user_agent: Some("bench".into()),
            referrer: None,
        },
    )
}

fn hits(ip: u32) -> Vec<ThrottleHit> {
    let ip = IpAddr::from(ip.to_be_bytes());
    [
        (ThrottleScope::General, 100),
        (ThrottleScope::LeadCreate, 10),
    ]
    .into_iter()
    .filter_map(|(scope, limit)| {
        Rate::new(limit, Duration::from_secs(3600)).map(|rate| {
            ThrottleHit::new(
                exit3_core::ThrottleKey::custom(scope, format!("{}:ip:{ip}", scope.as_str())),
                rate,
            )
        })
    })
    .collect()
}

fn now() -> Timestamp {
    Timestamp::now_utc()
}

fn bench_store(c: &mut Criterion, rt: &Runtime, name: &str, store: DynStore) {
    let mut group = c.benchmark_group(format!("store_{name}"));
    group.throughput(Throughput::Elements(1));
    let seeded = rt.block_on(async {
        for i in 0..SEED {
            if store
                .insert_lead(
                    &lead(i),
                    &Default::default(),
                    &exit3_core::Actor::System,
                    now(),
                )
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    });
    if !seeded {
        eprintln!("{name}: seeding failed; skipped");
        return;
    }

    let one = lead(1);
    group.bench_function("insert_lead", |b| {
        b.to_async(rt).iter(|| {
            let store = store.clone();
            let one = one.clone();
            async move {
                store
                    .insert_lead(&one, &Default::default(), &exit3_core::Actor::System, now())
                    .await
            }
        });
    });

    let filter = LeadFilter {
        status: Some(LeadStatus::New),
        ..LeadFilter::default()
    };
    let page = PageRequest::new(1, 50).ok();
    group.bench_function("list_new_page_1_of_50", |b| {
        b.to_async(rt).iter(|| {
            let store = store.clone();
            let filter = filter.clone();
            async move {
                match page {
                    Some(page) => store
                        .list_leads(&filter, Ordering::default(), page)
                        .await
                        .ok(),
                    None => None,
                }
            }
        });
    });

    // A new address each time, with the confirmation mail's outbox row (double opt-in
    // on) or without it (off): the row must cost little (consent.md; target: within 15 %).
    for (label, double_opt_in) in [
        ("subscribe_new_double_opt_in_off", false),
        ("subscribe_new_double_opt_in_on", true),
    ] {
        let mut n: u64 = 0;
        group.bench_function(label, |b| {
            b.to_async(rt).iter_batched(
                || {
                    n += 1;
                    testing::subscribe_request(
                        json!({"email": format!("{label}-{n}@example.com")}),
                        double_opt_in,
                    )
                },
                |request| {
                    let store = store.clone();
                    async move {
                        store
                            .subscribe(&request, &exit3_core::Actor::System, now())
                            .await
                    }
                },
                BatchSize::SmallInput,
            );
        });
    }

    let mut ip: u32 = 0x0a00_0000;
    group.bench_function("throttle_hit_new_visitor", |b| {
        b.to_async(rt).iter_batched(
            || {
                ip = ip.wrapping_add(1);
                hits(ip)
            },
            |hits| {
                let store = store.clone();
                async move { store.hit(&hits, now()).await }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn stores(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return;
    };
    bench_store(c, &rt, "memory", Arc::new(MemoryStore::new()));

    if std::env::var_os("DATABASE_URL").is_none() {
        eprintln!("DATABASE_URL is not set: the PostgreSQL store is not benchmarked");
        return;
    }
    let Some(db) = rt.block_on(exit3_store_postgres::testing::test_db()) else {
        return;
    };
    let store = rt.block_on(db.store());
    bench_store(c, &rt, "postgres", Arc::new(store));
}

criterion_group!(benches, stores);
criterion_main!(benches);
