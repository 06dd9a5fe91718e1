//! [`run_worker`]: the loop around the core's delivery step.

use std::time::Duration;

use exit3_core::{DeliveryLimits, DeliveryReport, Exit3, Ports};
use tokio::sync::watch;

/// The `tracing` target of the worker's events.
pub const WORKER_TARGET: &str = "exit3_delivery::worker";

/// How [`run_worker`] runs the core's delivery step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerOptions {
    /// What one step takes on (the core's defaults: 64 messages, 4 at a time).
    pub limits: DeliveryLimits,
    /// How long to wait after a step that found less than a full batch, or failed (1 s).
    pub poll_interval: Duration,
}

impl WorkerOptions {
    /// The default [`poll_interval`](Self::poll_interval).
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            limits: DeliveryLimits::default(),
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
        }
    }
}

/// Runs [`Exit3::deliver_once`] until `shutdown` says `true` (or its sender is dropped):
/// a step that claimed a full batch is followed by the next at once; otherwise the
/// worker waits [`poll_interval`](WorkerOptions::poll_interval), or until shutdown.
///
/// Shutdown never cuts a step short: the step in flight finishes (its sends and their
/// records), then the function returns; what is still due stays in the outbox for the
/// next worker. Bound the wait yourself, e.g. `tokio::time::timeout(grace, handle)`.
///
/// A step that fails (the store is down) is logged as a warning and tried again after
/// the poll interval. Everything is reported through `tracing` (target
/// [`WORKER_TARGET`]): each step that claimed something at `INFO`, failures at `WARN`.
pub async fn run_worker(
    exit3: Exit3,
    ports: Ports,
    options: WorkerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(
        target: WORKER_TARGET,
        batch = options.limits.batch,
        concurrency = options.limits.concurrency,
        poll_interval = ?options.poll_interval,
        "delivery worker started"
    );
    while !stopping(&shutdown) {
        let full = match exit3.deliver_once(&ports, options.limits).await {
            Ok(report) => {
                log_step(&report);
                options.limits.batch > 0 && report.claimed >= options.limits.batch
            }
            Err(error) => {
                tracing::warn!(
                    target: WORKER_TARGET,
                    error = %error,
                    retry_in = ?options.poll_interval,
                    "delivery step failed"
                );
                false
            }
        };
        if full {
            // More is due: go on, but let other tasks (and a shutdown) in between.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(options.poll_interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
    tracing::info!(target: WORKER_TARGET, "delivery worker stopped");
}

/// Shutdown was asked, or can no longer be (the sender is gone: the owner is).
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

fn log_step(report: &DeliveryReport) {
    if report.claimed == 0 {
        tracing::trace!(target: WORKER_TARGET, "nothing due");
    } else {
        tracing::info!(
            target: WORKER_TARGET,
            claimed = report.claimed,
            delivered = report.delivered,
            retried = report.retried,
            failed = report.failed,
            "delivery step"
        );
    }
}
