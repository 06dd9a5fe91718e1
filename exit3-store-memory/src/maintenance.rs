//! Upkeep (throttle keys, idempotency records, staff sessions, retention) and the health
//! check.

use async_trait::async_trait;
use exit3_core::{
    Timestamp,
    clock::to_micros,
    privacy::RetentionStep,
    store::{HealthCheck, Maintenance, StoreResult},
};

use crate::{MemoryStore, lock, write};

#[async_trait]
impl Maintenance for MemoryStore {
    async fn purge_throttle(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        let now = to_micros(now);
        let mut throttle = lock(&self.throttle);
        let expired: Vec<String> = throttle
            .windows
            .iter()
            .filter(|(_, (rate, w))| w.is_expired(*rate, now))
            .map(|(key, _)| key.clone())
            .take(batch as usize)
            .collect();
        for key in &expired {
            throttle.windows.remove(key);
        }
        Ok(expired.len() as u64)
    }

    /// Counts are kept exact as the data changes: nothing to compact.
    async fn compact_counts(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn purge_idempotency(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        Ok(lock(&self.idempotency).purge(now, batch))
    }

    async fn purge_sessions(&self, now: Timestamp, batch: u32) -> StoreResult<u64> {
        Ok(lock(&self.staff).purge(now, batch))
    }

    async fn retain(
        &self,
        step: RetentionStep,
        before: Timestamp,
        batch: u32,
        now: Timestamp,
    ) -> StoreResult<u64> {
        write(&self.data).retain(step, before, batch as usize, now)
    }
}

#[async_trait]
impl HealthCheck for MemoryStore {
    async fn health(&self) -> StoreResult<()> {
        Ok(())
    }
}
