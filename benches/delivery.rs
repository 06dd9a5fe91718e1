//! The delivery worker's throughput, the whole path but the network and the far side:
//!
//! - confirmation mails queued on `MemoryStore`, sent by `Exit3::deliver_once` through
//!   `SmtpMailer` (4 connections, 4 sends at a time) over real SMTP to the test sink on
//!   127.0.0.1; each iteration delivers a fresh batch of 500 mails;
//! - `lead.created` webhooks (one endpoint, each lead stored with its event), signed and
//!   sent by `HttpWebhookSender` to a real HTTP receiver on 127.0.0.1 with the worker's
//!   default limits (64 claimed, 4 at a time), on `MemoryStore` and — with
//!   `DATABASE_URL` — on PostgreSQL; 500 per iteration.
//!
//! Criterion reports messages per second.
//!
//! `cargo bench --bench delivery --all-features`

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exit3::{
    ApiKeys, Credential, DeliveryLimits, DynStore, Exit3, MemoryStore, Payload, Ports,
    RequestContext, Timestamp,
    delivery::{
        HttpWebhookSender, SmtpMailer, SmtpOptions,
        testing::{Answer, SmtpSink, WebhookReceiver},
    },
    events::LeadEffects,
    testing,
};
use serde_json::json;

/// Mails per iteration.
const BATCH: u64 = 500;

fn delivery(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return;
    };
    let Ok(sink) = rt.block_on(SmtpSink::start()) else {
        eprintln!("the SMTP sink did not start: skipped");
        return;
    };
    let options = SmtpOptions {
        host: sink.host(),
        port: sink.port(),
        from: "Exit Three <hello@exit3.example>".into(),
        pool_size: 4,
        ..SmtpOptions::default()
    };
    let Ok(mailer) = SmtpMailer::new(options) else {
        return;
    };
    let ports = Ports::new(Arc::new(mailer));
    let limits = DeliveryLimits {
        batch: 64,
        concurrency: 4,
    };
    let mut group = c.benchmark_group("delivery");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let mut round: u64 = 0;
    group.bench_function("confirmation_mails_smtp_4_connections", |b| {
        b.iter_custom(|iterations| {
            let mut took = Duration::ZERO;
            for _ in 0..iterations {
                round += 1;
                let exit3 = Exit3::builder(Arc::new(MemoryStore::new())).build();
                rt.block_on(async {
                    for i in 0..BATCH {
                        let request = testing::subscribe_request(
                            json!({"email": format!("r{round}-{i}@example.com")}),
                            true,
                        );
                        let _ = exit3
                            .store()
                            .subscribe(&request, &exit3_core::Actor::System, Timestamp::now_utc())
                            .await;
                    }
                });
                sink.clear();
                let start = Instant::now();
                rt.block_on(async {
                    while let Ok(report) = exit3.deliver_once(&ports, limits).await {
                        if report.claimed == 0 {
                            break;
                        }
                    }
                });
                took += start.elapsed();
                let received = sink.messages().len() as u64;
                assert_eq!(received, BATCH, "every mail arrives");
            }
            took
        });
    });
    group.finish();
}

const ADMIN: &str = "bench-admin-key-0123456789abcdef0123456789";

/// A service over `store` with one endpoint (listening for everything) at `url`.
async fn with_endpoint(store: DynStore, url: &str) -> Option<Exit3> {
    let exit3 = Exit3::builder(store)
        .keys(ApiKeys::new([ADMIN], Vec::<&str>::new()))
        .webhook_allow_private(true)
        .build();
    let admin = RequestContext::new(Credential::Key(ADMIN.to_owned()), None);
    let payload = Payload::from_json(json!({"url": url})).ok()?;
    exit3.create_webhook(&admin, &payload).await.ok()?;
    Some(exit3)
}

fn webhooks(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return;
    };
    let Ok(receiver) = rt.block_on(WebhookReceiver::start(vec![Answer::Status(204)])) else {
        eprintln!("the webhook receiver did not start: skipped");
        return;
    };
    let Ok(sender) = HttpWebhookSender::new(true) else {
        return;
    };
    let ports = Ports::new(Arc::new(exit3::delivery::ConsoleMailer::default()))
        .with_webhooks(Arc::new(sender));
    let mut stores: Vec<(&str, DynStore)> = vec![("memory", Arc::new(MemoryStore::new()))];
    match rt.block_on(exit3_store_postgres::testing::fresh_dyn_store()) {
        Some(pg) => stores.push(("postgres", pg)),
        None => eprintln!("no PostgreSQL (set DATABASE_URL): the PostgreSQL case is skipped"),
    }
    let mut group = c.benchmark_group("delivery");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, store) in stores {
        let Some(exit3) = rt.block_on(with_endpoint(store, receiver.url())) else {
            continue;
        };
        let lead = testing::new_lead(json!({"full_name": "Ada", "position": "CTO"}));
        group.bench_function(format!("lead_created_webhooks_http_{name}"), |b| {
            b.iter_custom(|iterations| {
                let mut took = Duration::ZERO;
                for _ in 0..iterations {
                    rt.block_on(async {
                        for _ in 0..BATCH {
                            let _ = exit3
                                .store()
                                .insert_lead(
                                    &lead,
                                    &LeadEffects::default(),
                                    &exit3_core::Actor::System,
                                    Timestamp::now_utc(),
                                )
                                .await;
                        }
                    });
                    let before = receiver.received().len();
                    let start = Instant::now();
                    let mut delivered = 0;
                    rt.block_on(async {
                        while let Ok(report) =
                            exit3.deliver_once(&ports, DeliveryLimits::default()).await
                        {
                            if report.claimed == 0 {
                                break;
                            }
                            delivered += u64::from(report.delivered);
                        }
                    });
                    took += start.elapsed();
                    assert_eq!(delivered, BATCH, "every delivery is taken");
                    assert_eq!(receiver.received().len() - before, BATCH as usize);
                }
                took
            });
        });
    }
    group.finish();
}

criterion_group!(benches, delivery, webhooks);
criterion_main!(benches);
