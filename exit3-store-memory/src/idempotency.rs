//! Idempotency records, under a lock of their own (they are never read with the data).

use std::collections::HashMap;

use async_trait::async_trait;
use exit3_core::{
    Timestamp,
    idempotency::{Begun, Fingerprint, Record, RecordKey, StoredAnswer},
    store::{IdempotencyStore, StoreResult},
};

use crate::{MemoryStore, lock};

/// The records by key.
#[derive(Debug, Default)]
pub(crate) struct Records(HashMap<RecordKey, Record>);

impl Records {
    /// Removes up to `batch` records expired at `now`.
    pub(crate) fn purge(&mut self, now: Timestamp, batch: u32) -> u64 {
        let expired: Vec<RecordKey> = self
            .0
            .iter()
            .filter(|(_, r)| r.expires_at <= now)
            .map(|(k, _)| *k)
            .take(batch as usize)
            .collect();
        for key in &expired {
            self.0.remove(key);
        }
        expired.len() as u64
    }

    /// Removes every record whose kept answer `mentions` (an erasure).
    pub(crate) fn forget(&mut self, mentions: impl Fn(&str) -> bool) {
        self.0
            .retain(|_, r| !r.answer.as_ref().is_some_and(|a| mentions(&a.body)));
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn begin_idempotent(
        &self,
        key: RecordKey,
        fingerprint: Fingerprint,
        now: Timestamp,
        locked_until: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Begun> {
        let mut records = lock(&self.idempotency);
        let begun = records
            .0
            .get(&key)
            .map_or(Begun::Started, |r| r.begin(fingerprint, now));
        if begun == Begun::Started {
            records.0.insert(
                key,
                Record {
                    fingerprint,
                    answer: None,
                    locked_until,
                    expires_at,
                },
            );
        }
        Ok(begun)
    }

    async fn finish_idempotent(&self, key: RecordKey, answer: &StoredAnswer) -> StoreResult<()> {
        if let Some(record) = lock(&self.idempotency).0.get_mut(&key) {
            record.answer = Some(answer.clone());
        }
        Ok(())
    }

    async fn release_idempotent(&self, key: RecordKey) -> StoreResult<()> {
        let mut records = lock(&self.idempotency);
        if records.0.get(&key).is_some_and(|r| r.answer.is_none()) {
            records.0.remove(&key);
        }
        Ok(())
    }
}
