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
        // Due rows in order; those leased to another attempt (as many as are in flight)
        // are passed over.
        let due: Vec<i64> = data
            .pending
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter(|(_, id)| {
                data.outbox
                    .get(id)
                    .is_some_and(|q| q.lease_until.is_none_or(|l| l <= now))
            })
            .map(|&(_, id)| id)
            .take(limit as usize)
            .collect();
        let mut claimed = Vec::new();
        for id in due {
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
        let was = (q.next_attempt_at, id.get());
        q.status = outcome.status();
        q.last_error = outcome.error().map(str::to_owned);
        q.last_status_code = status_code;
        q.lease_until = None;
        q.updated_at = now;
        if let AttemptOutcome::Retry { at, .. } = outcome {
            q.next_attempt_at = *at;
        }
        let is = (q.status == DeliveryStatus::Pending).then_some((q.next_attempt_at, id.get()));
        data.pending.remove(&was);
        data.pending.extend(is);
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
            .pending
            .iter()
            .filter_map(|(_, id)| data.outbox.get(id))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use exit3_core::{SubscriberId, outbox::OutboxMessage, testing::at};
    use proptest::prelude::*;

    use super::*;
    use crate::Data;

    #[derive(Debug, Clone)]
    enum Op {
        /// Queue a message at this second.
        Enqueue(i64),
        /// Claim up to `limit` due at `now`, leased for `lease` seconds.
        Claim { now: i64, limit: u32, lease: i64 },
        /// Record an outcome for the `n`-th claim made so far: 0 delivered, 1 retry
        /// `later` seconds on, 2 failed.
        Record { n: usize, outcome: u8, later: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..100i64).prop_map(Op::Enqueue),
            (0..200i64, 1..5u32, 1..50i64).prop_map(|(now, limit, lease)| Op::Claim {
                now,
                limit,
                lease
            }),
            (0..40usize, 0..3u8, 1..60i64).prop_map(|(n, outcome, later)| Op::Record {
                n,
                outcome,
                later
            }),
        ]
    }

    /// What a claim at `now` takes, by a scan of every row (the claim before the index).
    fn scanned(data: &Data, now: Timestamp, limit: u32) -> Vec<i64> {
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
        due.into_iter()
            .take(limit as usize)
            .map(|(_, id)| id)
            .collect()
    }

    proptest! {
        /// Whatever is queued, claimed, leased and recorded, the index of pending rows
        /// holds exactly the pending rows, and a claim takes what a scan of every row
        /// would, in the same order.
        #[test]
        fn the_pending_index_is_the_pending_rows(ops in prop::collection::vec(op(), 1..80)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            rt.block_on(async {
                let store = MemoryStore::new();
                // Each claim with the second it was made at.
                let mut claims: Vec<(Claimed, i64)> = Vec::new();
                for op in ops {
                    match op {
                        Op::Enqueue(t) => {
                            let message = OutboxMessage::Confirmation {
                                subscriber: SubscriberId::new(1).expect("id"),
                            };
                            write(&store.data).enqueue(message, at(t));
                        }
                        Op::Claim { now, limit, lease } => {
                            let want = scanned(&read(&store.data), at(now), limit);
                            let got = store
                                .claim_due(at(now), limit, at(now + lease))
                                .await
                                .expect("claim");
                            let ids: Vec<i64> = got.iter().map(|c| c.id.get()).collect();
                            prop_assert_eq!(ids, want);
                            claims.extend(got.into_iter().map(|c| (c, now)));
                        }
                        Op::Record { n, outcome, later } => {
                            let Some((c, claimed_at)) = claims.get(n) else { continue };
                            let t = at(claimed_at + later);
                            let outcome = match outcome {
                                0 => AttemptOutcome::Delivered,
                                1 => AttemptOutcome::Retry { at: t, error: "x".into() },
                                _ => AttemptOutcome::Failed { error: "x".into() },
                            };
                            store
                                .record_attempt(c.id, c.attempt, &outcome, None, t)
                                .await
                                .expect("record");
                        }
                    }
                    let data = read(&store.data);
                    let scan: BTreeSet<(Timestamp, i64)> = data
                        .outbox
                        .iter()
                        .filter(|(_, q)| q.status == DeliveryStatus::Pending)
                        .map(|(&id, q)| (q.next_attempt_at, id))
                        .collect();
                    prop_assert_eq!(&data.pending, &scan);
                }
                Ok(())
            })?;
        }
    }
}
