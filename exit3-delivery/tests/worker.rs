//! `run_worker` over a real `Exit3` (in-memory store): it loops until shutdown and stops
//! promptly when told.

use std::{sync::Arc, time::Duration};

use exit3_core::{DeliveryLimits, Exit3, Ports};
use exit3_delivery::{ConsoleMailer, WorkerOptions, run_worker};
use exit3_store_memory::MemoryStore;
use tokio::sync::watch;

fn service() -> (Exit3, Ports) {
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new())).build();
    let ports = Ports::new(Arc::new(ConsoleMailer::default()));
    (exit3, ports)
}

#[test]
fn the_defaults_poll_every_second_with_the_cores_limits() {
    let options = WorkerOptions::default();
    assert_eq!(options.poll_interval, Duration::from_secs(1));
    assert_eq!(options.limits, DeliveryLimits::default());
}

#[tokio::test]
async fn the_worker_stops_promptly_on_shutdown_even_mid_sleep() {
    let (exit3, ports) = service();
    let (stop, shutdown) = watch::channel(false);
    let options = WorkerOptions {
        // Far longer than the test: only the shutdown can end the wait.
        poll_interval: Duration::from_secs(3600),
        ..WorkerOptions::default()
    };
    let worker = tokio::spawn(run_worker(exit3, ports, options, shutdown));
    // Let it run a step and fall asleep.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!worker.is_finished());

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), worker)
        .await
        .expect("the worker stops within 2 s of shutdown")
        .unwrap();
}

#[tokio::test]
async fn the_worker_keeps_polling_until_shutdown() {
    let (exit3, ports) = service();
    let (stop, shutdown) = watch::channel(false);
    let options = WorkerOptions {
        poll_interval: Duration::from_millis(10),
        ..WorkerOptions::default()
    };
    let worker = tokio::spawn(run_worker(exit3, ports, options, shutdown));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !worker.is_finished(),
        "many empty steps later, still running"
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), worker)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_worker_told_to_stop_before_it_starts_returns_at_once() {
    let (exit3, ports) = service();
    let (_stop, shutdown) = watch::channel(true);
    tokio::time::timeout(
        Duration::from_secs(1),
        run_worker(exit3, ports, WorkerOptions::default(), shutdown),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_worker_stops_when_the_shutdown_sender_is_gone() {
    let (exit3, ports) = service();
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(run_worker(exit3, ports, WorkerOptions::default(), shutdown));
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stop);
    tokio::time::timeout(Duration::from_secs(2), worker)
        .await
        .unwrap()
        .unwrap();
}
