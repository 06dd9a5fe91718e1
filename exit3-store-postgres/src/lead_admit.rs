//! Creates decided and stored together (group commit, [`Batcher`](crate::batch)): the
//! throttle decisions of concurrent creates and the leads of those accepted go in one
//! transaction — one call of `exit3_throttle_hits` for the batch (`throttle_batch.rs`),
//! then one multi-row insert of the accepted leads (`lead_insert.rs`), one commit. A
//! create passes through the database once instead of twice (first its decision, then its
//! lead, each in a batch of its own), which is most of its wait under load
//! (`BENCHMARKS.md`, issue 16).
//!
//! Each request is decided exactly as a call of its own would be (the function decides a
//! batch's requests one after the other), and answered only after the commit: a refused
//! one recorded and stored nothing; an accepted one was recorded and its lead stored.
//! The transaction commits with `synchronous_commit` on, whatever the throttle function
//! set for it: it holds leads.

use exit3_core::{
    Lead, ThrottleDecision,
    store::{Admitted, StoreError, StoreResult},
};
use sqlx::PgPool;

use crate::{
    batch::Limits,
    checked::Checks,
    error::{fail_all, from_sqlx, is_retryable, wrote_nothing},
    lead_insert::{self, NewLeadJob},
    throttle::ATTEMPTS,
    throttle_batch::{self, HitJob},
};

/// One create waiting for its batch: its throttle hits and its lead.
#[derive(Debug, Clone)]
pub(crate) struct AdmitJob {
    pub(crate) hits: HitJob,
    pub(crate) lead: NewLeadJob,
}

/// As lead inserts are batched (`lead_insert::LIMITS`): more writers made the batches
/// smaller and each create dearer — with three, 4,378 batches where two wrote 3,531 for
/// the same load, the database's time a create a fifth more, and no more creates a
/// second (`cpu_split.sh`; with four, fewer).
pub(crate) const LIMITS: Limits = lead_insert::LIMITS;

/// Decides and writes `jobs` as one transaction (tried again when it met a deadlock or a
/// key created meanwhile), answering each; a batch the database refuses otherwise is
/// written again one create at a time, so that one bad row fails alone, and a batch
/// whose outcome is not known (its connection lost) is answered as failed and not
/// written again.
pub(crate) async fn write(
    pool: &PgPool,
    checks: &Checks,
    jobs: Vec<AdmitJob>,
    listeners: bool,
) -> Vec<StoreResult<Admitted<Lead>>> {
    let failed = match attempts(pool, checks, &jobs, listeners).await {
        Ok(answers) => return answers.into_iter().map(Ok).collect(),
        Err(e) => e,
    };
    if jobs.len() == 1 {
        return vec![Err(from_sqlx(failed))];
    }
    if !wrote_nothing(&failed) {
        return fail_all(jobs.len(), failed);
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let one = attempts(pool, checks, std::slice::from_ref(&job), listeners).await;
        answers.push(match one {
            Ok(mut one) => one.pop().ok_or_else(|| {
                StoreError::other("a decided create was not answered by its transaction")
            }),
            Err(e) => Err(from_sqlx(e)),
        });
    }
    answers
}

/// [`once`], tried again while it meets a deadlock or a serialization failure (nothing
/// of a failed attempt was written).
async fn attempts(
    pool: &PgPool,
    checks: &Checks,
    jobs: &[AdmitJob],
    listeners: bool,
) -> Result<Vec<Admitted<Lead>>, sqlx::Error> {
    let mut attempt = 1;
    loop {
        match once(pool, checks, jobs, listeners).await {
            Err(e) if is_retryable(&e) && attempt < ATTEMPTS => attempt += 1,
            answer => return answer,
        }
    }
}

/// One transaction: the batch's decisions, the accepted leads, the commit.
async fn once(
    pool: &PgPool,
    checks: &Checks,
    jobs: &[AdmitJob],
    listeners: bool,
) -> Result<Vec<Admitted<Lead>>, sqlx::Error> {
    let hits: Vec<HitJob> = jobs.iter().map(|j| j.hits.clone()).collect();
    let mut tx = pool.begin().await?;
    let decisions = throttle_batch::decide(&mut *tx, checks, &hits).await?;
    let accepted: Vec<NewLeadJob> = jobs
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| **d == ThrottleDecision::Accepted)
        .map(|(j, _)| j.lead.clone())
        .collect();
    let mut leads = if accepted.is_empty() {
        Vec::new()
    } else {
        lead_insert::insert(&mut *tx, &accepted, listeners, true).await?
    }
    .into_iter();
    tx.commit().await?;
    decisions
        .into_iter()
        .map(|decision| match decision {
            ThrottleDecision::Accepted => leads.next().map(Admitted::Written).ok_or_else(|| {
                sqlx::Error::Protocol("an accepted create has no stored lead".into())
            }),
            refused => Ok(Admitted::Refused(refused)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use exit3_core::{
        Actor, ThrottleHit, ThrottleKey, ThrottleScope,
        testing::{at, new_lead},
        throttle::Rate,
    };
    use serde_json::json;

    use super::*;

    async fn synchronous_commit(tx: &mut sqlx::PgConnection) -> String {
        sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
            .fetch_one(tx)
            .await
            .expect("setting")
    }

    /// A batch's transaction commits waiting for the disk, as a lead's must: the
    /// throttle function turns `synchronous_commit` off for its transaction, and the
    /// insert of the leads turns it on again.
    #[tokio::test]
    async fn a_batch_that_stores_leads_commits_durably() {
        let Some(db) = crate::testing::test_db().await else {
            return;
        };
        let store = db.store().await;
        let hit = ThrottleHit::new(
            ThrottleKey::custom(ThrottleScope::LeadCreate, "lead_create:ip:192.0.2.4"),
            Rate::new(10, Duration::from_secs(3600)).expect("rate"),
        );
        let mut tx = store.pool().begin().await.expect("begin");
        let hits = [HitJob {
            hits: vec![hit],
            now: 1,
        }];
        let decided = throttle_batch::decide(&mut *tx, &store.checks, &hits)
            .await
            .expect("decided");
        assert_eq!(decided, [ThrottleDecision::Accepted]);
        assert_eq!(synchronous_commit(&mut tx).await, "off");
        let job = NewLeadJob {
            lead: new_lead(json!({"full_name": "Ada", "position": "CTO"})),
            effects: Default::default(),
            actor: Actor::Public,
            now: at(1),
        };
        let leads = lead_insert::insert(&mut *tx, &[job], false, true)
            .await
            .expect("inserted");
        assert_eq!(leads.len(), 1);
        assert_eq!(synchronous_commit(&mut tx).await, "on");
        tx.rollback().await.expect("rolled back");
        store.close().await;
        db.drop_database().await;
    }
}
