//! The maintenance step: expired throttle state and idempotency records purged, counts
//! compacted.

use crate::{error::Error, service::Exit3};

/// How many expired throttle keys one purge statement removes.
pub const PURGE_BATCH: u32 = 1000;
/// The most purge batches one maintenance step runs (the rest waits for the next step).
pub const MAX_PURGE_BATCHES: u32 = 50;

/// What one maintenance step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MaintenanceReport {
    /// Throttle keys removed because nothing they hold can affect a decision any more.
    pub throttle_keys_removed: u64,
    /// Idempotency records removed because they expired.
    pub idempotency_records_removed: u64,
    /// Staff sessions removed because they expired.
    pub sessions_removed: u64,
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
    /// idempotency records and staff sessions (each in batches of [`PURGE_BATCH`], up to
    /// [`MAX_PURGE_BATCHES`]) and compacts the store's counts. Safe to run from several
    /// instances at once.
    pub async fn maintain_once(&self) -> Result<MaintenanceReport, Error> {
        let now = self.now();
        let store = self.store();
        let report = MaintenanceReport {
            throttle_keys_removed: batches(|| store.purge_throttle(now, PURGE_BATCH)).await?,
            idempotency_records_removed: batches(|| store.purge_idempotency(now, PURGE_BATCH))
                .await?,
            sessions_removed: batches(|| store.purge_sessions(now, PURGE_BATCH)).await?,
        };
        self.store().compact_counts().await?;
        Ok(report)
    }
}
