//! Creates decided and stored in one batch (group commit, [`Batcher`](crate::batch)): the
//! throttle decisions of concurrent creates are one call of `exit3_throttle_hits`
//! (`throttle_batch.rs`), and the leads of those accepted one multi-row insert
//! (`lead_insert.rs`), sent one after the other by the same writer. A create waits for one
//! batch instead of two — first its decision's, then its lead's — which was most of its
//! wait under load (`BENCHMARKS.md`, issue 16).
//!
//! Each statement keeps its own transaction and its failure handling, as when the two
//! batches were separate: the decisions commit without waiting for the disk, as
//! throttle state does; the leads commit waiting for it, and a create is answered only
//! after that commit. A request that is refused stores nothing; one whose lead fails to
//! be stored was recorded by the throttle, as before.

use exit3_core::{
    Lead, ThrottleDecision,
    store::{Admitted, StoreResult},
};
use sqlx::PgPool;

use crate::{
    batch::Limits,
    checked::Checks,
    lead_insert::{self, NewLeadJob},
    throttle_batch::{self, HitJob},
};

/// One create waiting for its batch: its throttle hits and its lead.
#[derive(Debug)]
pub(crate) struct AdmitJob {
    pub(crate) hits: HitJob,
    pub(crate) lead: NewLeadJob,
}

/// As lead inserts are batched (`lead_insert::LIMITS`): more writers made the batches
/// smaller and each create dearer — with three, 4,378 batches where two wrote 3,531 for
/// the same load, the database's time a create a fifth more, and no more creates a
/// second (`cpu_split.sh`; with four, fewer).
pub(crate) const LIMITS: Limits = lead_insert::LIMITS;

/// Decides the batch's requests (`throttle_batch::write`), then stores the leads of
/// those accepted (`lead_insert::write`), answering each create.
pub(crate) async fn write(
    pool: &PgPool,
    checks: &Checks,
    jobs: Vec<AdmitJob>,
    listeners: bool,
) -> Vec<StoreResult<Admitted<Lead>>> {
    let (hits, leads): (Vec<HitJob>, Vec<NewLeadJob>) =
        jobs.into_iter().map(|j| (j.hits, j.lead)).unzip();
    let decisions = throttle_batch::write(pool, checks, hits).await;
    let accepted: Vec<NewLeadJob> = leads
        .into_iter()
        .zip(&decisions)
        .filter(|(_, d)| matches!(d, Ok(ThrottleDecision::Accepted)))
        .map(|(lead, _)| lead)
        .collect();
    let mut stored = if accepted.is_empty() {
        Vec::new()
    } else {
        lead_insert::write(pool, accepted, listeners).await
    }
    .into_iter();
    decisions
        .into_iter()
        .map(|decision| match decision? {
            ThrottleDecision::Accepted => stored
                .next()
                .unwrap_or_else(|| {
                    Err(exit3_core::StoreError::other(
                        "an accepted create was not answered by its insert",
                    ))
                })
                .map(Admitted::Written),
            refused => Ok(Admitted::Refused(refused)),
        })
        .collect()
}
