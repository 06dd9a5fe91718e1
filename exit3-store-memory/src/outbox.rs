//! The outbox: claims with leases, attempts, confirmation tokens issued at send time.

use std::collections::BTreeMap;

use async_trait::async_trait;
use exit3_core::{
    Subscriber, SubscriberId, SubscriberStatus, Timestamp,
    domain::TokenRecord,
    outbox::{AttemptOutcome, Claimed, DeliveryStatus, OutboxId, OutboxStats},
    store::{OutboxStore, StoreResult},
    tokens::TokenHash,
};

use crate::{MemoryStore, read, write};

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn claim_due(
        &self,
        now: Timestamp,
        limit: u32,
        lease_until: Timestamp,
    ) -> StoreResult<Vec<Claimed>> {
        let mut data = write(&self.data);
        let mut due: Vec<(Timestamp, i64)> = data
            .outbox
            .iter()
            .filter(|(_, q)| {
                q.status == DeliveryStatus::Pending
                    && q.next_attempt_at <= now
                    && q.lease_until.is_none_or(|l| l <= now)
            })
            .map(|(&id, q)| (q.next_attempt_at, id))
            .collect();
        due.sort_unstable();
        let mut claimed = Vec::new();
        for (_, id) in due.into_iter().take(limit as usize) {
            let (Some(q), Some(id_)) = (data.outbox.get_mut(&id), OutboxId::new(id)) else {
                continue;
            };
            q.attempts += 1;
            q.lease_until = Some(lease_until);
            q.updated_at = now;
            claimed.push(Claimed {
                id: id_,
                attempt: q.attempts,
                message: q.message.clone(),
                created_at: q.created_at,
            });
        }
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: OutboxId,
        attempt: u32,
        outcome: &AttemptOutcome,
        status_code: Option<u16>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut data = write(&self.data);
        let Some(q) = data.outbox.get_mut(&id.get()) else {
            return Ok(false);
        };
        if q.status != DeliveryStatus::Pending || q.attempts != attempt {
            return Ok(false);
        }
        q.status = outcome.status();
        q.last_error = outcome.error().map(str::to_owned);
        q.last_status_code = status_code;
        q.lease_until = None;
        q.updated_at = now;
        if let AttemptOutcome::Retry { at, .. } = outcome {
            q.next_attempt_at = *at;
        }
        Ok(true)
    }

    async fn issue_confirmation(
        &self,
        subscriber: SubscriberId,
        token: TokenHash,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<Option<Subscriber>> {
        let mut data = write(&self.data);
        let Some(found) = data
            .subscribers
            .get(&subscriber.get())
            .filter(|s| s.status == SubscriberStatus::Pending)
            .cloned()
        else {
            return Ok(None);
        };
        data.tokens.insert(
            token.0,
            TokenRecord {
                subscriber,
                expires_at,
                used_at: None,
            },
        );
        Ok(Some(found))
    }

    async fn outbox_stats(&self) -> StoreResult<Vec<OutboxStats>> {
        let data = read(&self.data);
        let mut stats: BTreeMap<&'static str, OutboxStats> = BTreeMap::new();
        for q in data
            .outbox
            .values()
            .filter(|q| q.status == DeliveryStatus::Pending)
        {
            let kind = q.message.kind();
            let entry = stats.entry(kind.as_str()).or_insert(OutboxStats {
                kind,
                pending: 0,
                oldest_pending: None,
            });
            entry.pending += 1;
            entry.oldest_pending = Some(
                entry
                    .oldest_pending
                    .map_or(q.created_at, |t| t.min(q.created_at)),
            );
        }
        Ok(stats.into_values().collect())
    }
}
