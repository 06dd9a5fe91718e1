//! The delivery worker's throughput: confirmation mails queued on `MemoryStore`, sent by
//! `Exit3::deliver_once` through `SmtpMailer` (4 connections, 4 sends at a time) over
//! real SMTP to the test sink on 127.0.0.1 — the whole path but the network and the
//! provider. Each iteration delivers a fresh batch of 500 mails; criterion reports
//! mails per second.
//!
//! `cargo bench --bench delivery --features delivery`

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exit3::{
    DeliveryLimits, Exit3, MemoryStore, Ports, Timestamp,
    delivery::{SmtpMailer, SmtpOptions, testing::SmtpSink},
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
                            .subscribe(&request, Timestamp::now_utc())
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

criterion_group!(benches, delivery);
criterion_main!(benches);
