//! The full request path through the server, in process: a `poem::Request` into
//! `exit3::server::endpoint` (front layer, routing, poem-openapi, the core, the memory
//! store, the JSON body) and the response body read out. No sockets.
//!
//! An in-process request has no peer address, so every public request would count
//! against one `ip:unknown` bucket; the create is therefore measured with throttling off
//! (`benches/core.rs` and `benches/stores.rs` measure the throttle decision itself).
//!
//! `cargo bench --bench server --features server`

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exit3::{ApiKeys, Exit3, MemoryStore, Payload, RequestContext, ThrottleRates, server};
use poem::{
    Endpoint, Request,
    http::{Method, header},
};

const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef0123456789";
const PUBLIC_KEY: &str = "bench-public-key";

const FORM: &str = r#"{"full_name":"Ada Lovelace","position":"CTO","company_name":"Analytical Engines","email":"ada@example.com","phone":"+44 20 7946 0958","message":"We would like to talk about a new project.","source":"website","category":"consulting","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring"}"#;

fn requests(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN_KEY], [PUBLIC_KEY]))
        .rates(ThrottleRates::off())
        .build();

    // 1,000 leads, a fifth of them new, so that the list page is full.
    let admin = RequestContext::with_key(ADMIN_KEY);
    rt.block_on(async {
        for i in 0..1000 {
            let status = ["new", "contacted", "qualified", "converted", "lost"][i % 5];
            let form = Payload::empty()
                .with("full_name", format!("Lead {i}"))
                .with("position", "CTO")
                .with("status", status);
            let _ = exit3.create_lead(&admin, &form).await;
        }
    });
    let app = server::endpoint(exit3, server::HttpOptions::default().any_host());

    let mut group = c.benchmark_group("server_in_process");
    group.throughput(Throughput::Elements(1));
    group.bench_function("post_lead_public", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/backend/api/v1/leads/")
                .header(header::HOST, "localhost")
                .header(header::AUTHORIZATION, format!("Basic {PUBLIC_KEY}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(FORM);
            let resp = app.get_response(req).await;
            debug_assert_eq!(resp.status(), 201);
            resp.into_body().into_bytes().await.map(|b| b.len()).ok()
        });
    });
    group.bench_function("get_leads_status_new", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::builder()
                .uri_str("/backend/api/v1/leads/?status=new")
                .header(header::HOST, "localhost")
                .header(header::AUTHORIZATION, format!("Basic {ADMIN_KEY}"))
                .finish();
            let resp = app.get_response(req).await;
            resp.into_body().into_bytes().await.map(|b| b.len()).ok()
        });
    });
    group.bench_function("get_health", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::builder()
                .uri_str("/backend/health/")
                .header(header::HOST, "localhost")
                .finish();
            let resp = app.get_response(req).await;
            resp.into_body().into_bytes().await.map(|b| b.len()).ok()
        });
    });
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
