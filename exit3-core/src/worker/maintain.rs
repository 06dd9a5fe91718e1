//! The maintenance step: expired throttle state, idempotency records and sessions
//! purged, the retention steps applied (privacy.md §2), counts compacted.

use crate::{error::Error, privacy::RetentionStep, service::Exit3};

/// How many expired throttle keys one purge statement removes.
pub const PURGE_BATCH: u32 = 1000;
/// The most purge batches one maintenance step runs (the rest waits for the next step).
pub const MAX_PURGE_BATCHES: u32 = 50;

/// What one maintenance step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Throttle keys removed because nothing they hold can affect a decision any more.
    pub throttle_keys_removed: u64,
    /// Idempotency records removed because they expired.
    pub idempotency_records_removed: u64,
    /// Staff sessions removed because they expired.
    pub sessions_removed: u64,
    /// What each retention step that is on took (removed, or cleared), in step order.
    pub retained: Vec<(RetentionStep, u64)>,
}

impl MaintenanceReport {
    /// Every count with its fixed name (`throttle_keys`, `idempotency_records`,
    /// `sessions`, then each retention step's): the `what` of the metrics and of the
    /// `maintenance` command's lines.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let mut counts = vec![
            ("throttle_keys", self.throttle_keys_removed),
            ("idempotency_records", self.idempotency_records_removed),
            ("sessions", self.sessions_removed),
        ];
        counts.extend(self.retained.iter().map(|(s, n)| (s.as_str(), *n)));
        counts
    }

    /// Whether anything was removed.
    pub fn removed_any(&self) -> bool {
        self.counts().iter().any(|(_, n)| *n > 0)
    }
}

/// Runs `purge` until a batch comes back short (or [`MAX_PURGE_BATCHES`] ran); the
/// total removed.
async fn batches<F, Fut>(mut purge: F) -> Result<u64, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::store::StoreResult<u64>>,
{
    let mut total = 0;
    for _ in 0..MAX_PURGE_BATCHES {
        let removed = purge().await?;
        total += removed;
        if removed < u64::from(PURGE_BATCH) {
            break;
        }
    }
    Ok(total)
}

impl Exit3 {
    /// One maintenance step at the service's current time: purges expired throttle state,
    /// idempotency records and staff sessions, applies every retention step that is on
    /// (each in batches of [`PURGE_BATCH`], up to [`MAX_PURGE_BATCHES`]: what is left
    /// waits for the next step), tells the observer what went, and compacts the store's
    /// counts. Safe to run from several instances at once.
    pub async fn maintain_once(&self) -> Result<MaintenanceReport, Error> {
        let now = self.now();
        let store = self.store();
        let mut report = MaintenanceReport {
            throttle_keys_removed: batches(|| store.purge_throttle(now, PURGE_BATCH)).await?,
            idempotency_records_removed: batches(|| store.purge_idempotency(now, PURGE_BATCH))
                .await?,
            sessions_removed: batches(|| store.purge_sessions(now, PURGE_BATCH)).await?,
            retained: Vec::new(),
        };
        for (step, before) in self.retention().due(now) {
            let taken = batches(|| store.retain(step, before, PURGE_BATCH, now)).await?;
            report.retained.push((step, taken));
        }
        for (what, count) in report.counts() {
            if count > 0 {
                self.observer().removed(what, count);
            }
        }
        self.store().compact_counts().await?;
        Ok(report)
    }
}
