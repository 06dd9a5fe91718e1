//! Background tasks of a serving process: the maintenance step on a timer and the
//! delivery worker, until the process shuts down. Requests never do this work.

use std::time::Duration;

use exit3_core::Exit3;
use tokio::sync::watch;

/// Runs [`Exit3::maintain_once`] every `interval` until `shutdown` turns true; a failed
/// step is logged and the next one tried on time.
pub async fn maintenance(exit3: Exit3, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match exit3.maintain_once().await {
            Ok(report) if report.removed_any() => {
                let removed: Vec<String> = report
                    .counts()
                    .into_iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(what, n)| format!("{what}={n}"))
                    .collect();
                tracing::debug!(removed = %removed.join(" "), "maintenance");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "maintenance step failed"),
        }
    }
}

/// The delivery worker of this process (`exit3_delivery::run_worker`) until `shutdown`;
/// the step in flight finishes first, then what is left stays in the outbox.
pub async fn worker(exit3: Exit3, ports: exit3_core::Ports, shutdown: watch::Receiver<bool>) {
    exit3_delivery::run_worker(
        exit3,
        ports,
        exit3_delivery::WorkerOptions::default(),
        shutdown,
    )
    .await;
}
