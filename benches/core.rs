//! The core alone: parsing and validating one contact form, and the throttle decision on
//! the memory store (`cargo bench --bench core`).

use std::{hint::black_box, net::IpAddr, sync::Arc, time::Duration};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use exit3::{
    MemoryStore, NewLead, Origin, Payload, Policy, Rate, Scope, ThrottleHit, ThrottleScope,
    store::ThrottleStore, testing::at,
};
use serde_json::{Value, json};

/// The website's contact form: the 11 fields the load script sends.
fn form() -> Value {
    json!({
        "full_name": "Ada Lovelace",
        "position": "CTO",
        "company_name": "Analytical Engines",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "message": "We would like to talk about a new project.",
        "source": "website",
        "category": "consulting",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring"
    })
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("lead");
    group.throughput(Throughput::Elements(1));
    let body = form().to_string();
    let policy = Policy::default();
    let origin = Origin {
        ip: Some(IpAddr::from([10, 1, 2, 3])),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        referrer: Some("https://exit3.example/contact".into()),
    };
    group.bench_function("parse_json_and_validate", |b| {
        b.iter(|| {
            let value: Value = serde_json::from_str(black_box(&body)).ok()?;
            let payload = Payload::from_json(value).ok()?;
            NewLead::parse(&payload, &policy, Scope::Public, &origin).ok()
        });
    });
    let payload = Payload::from_json(form()).ok();
    group.bench_function("validate", |b| {
        b.iter(|| {
            let payload = payload.as_ref()?;
            NewLead::parse(black_box(payload), &policy, Scope::Public, &origin).ok()
        });
    });
    let bad = Payload::from_json(json!({
        "full_name": "",
        "email": "ada@mailinator.com",
        "message": "<script>alert(1)</script>",
        "category": "nope"
    }))
    .ok();
    group.bench_function("validate_invalid_every_error", |b| {
        b.iter(|| {
            let payload = bad.as_ref()?;
            NewLead::parse(black_box(payload), &policy, Scope::Public, &origin).err()
        });
    });
    group.finish();
}

/// The two hits of one public create: `general` and `lead_create`, for one address.
fn hits(ip: u32) -> Vec<ThrottleHit> {
    let ip = IpAddr::from(ip.to_be_bytes());
    let general = Rate::new(100, Duration::from_secs(3600));
    let create = Rate::new(10, Duration::from_secs(3600));
    [
        (ThrottleScope::General, general),
        (ThrottleScope::LeadCreate, create),
    ]
    .into_iter()
    .filter_map(|(scope, rate)| {
        rate.map(|rate| {
            ThrottleHit::new(
                exit3_core::ThrottleKey::custom(scope, format!("{}:ip:{ip}", scope.as_str())),
                rate,
            )
        })
    })
    .collect()
}

fn throttle(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let mut group = c.benchmark_group("throttle_memory");
    group.throughput(Throughput::Elements(1));

    // Many visitors: every decision on a new or rarely seen key (the load test's shape).
    let store = Arc::new(MemoryStore::new());
    let mut n: u32 = 0x0a00_0000;
    let mut second = 0;
    group.bench_function("hit_new_visitor", |b| {
        b.to_async(&rt).iter_batched(
            || {
                n = n.wrapping_add(1);
                second += 1;
                (hits(n), at(second / 1000))
            },
            |(hits, now)| {
                let store = store.clone();
                async move { store.hit(&hits, now).await }
            },
            BatchSize::SmallInput,
        );
    });

    // One visitor at the limit: every decision is a refusal over a full window.
    let store = Arc::new(MemoryStore::new());
    let one = hits(0x0a01_0203);
    rt.block_on(async {
        for i in 0..20 {
            let _ = store.hit(&one, at(i)).await;
        }
    });
    group.bench_function("hit_refused_full_window", |b| {
        b.to_async(&rt).iter(|| {
            let store = store.clone();
            let one = one.clone();
            async move { store.hit(&one, at(30)).await }
        });
    });
    group.finish();
}

criterion_group!(benches, parsing, throttle);
criterion_main!(benches);
