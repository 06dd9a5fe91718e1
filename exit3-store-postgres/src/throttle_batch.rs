//! Throttle decisions a batch at a time (group commit, `batch.rs`): the requests that
//! arrive together are decided in one call of `exit3_throttle_hits` (migration
//! 20261207000400) — each exactly as a call of its own, one after the other, so a
//! refusal is counted nowhere and the window is exact inside a batch as between batches
//! — in one statement, one transaction.

use exit3_core::{ThrottleDecision, ThrottleHit, store::StoreResult, throttle::retry_after_secs};
use sqlx::PgPool;

use crate::{
    batch::Limits,
    checked::{CHANNEL, Checks},
    error::{fail_all, from_sqlx, is_retryable, wrote_nothing},
    throttle::{ATTEMPTS, limit_of, try_hit},
};

/// One request's throttle decision waiting for its batch.
#[derive(Debug)]
pub(crate) struct HitJob {
    pub(crate) hits: Vec<ThrottleHit>,
    /// The request's time, in microseconds.
    pub(crate) now: i64,
}

/// How decisions are batched: at most 64 requests a batch, one batch at a time. A
/// decision commits without waiting for the disk (a throttle decision lost in a crash
/// costs nothing), so a batch is short, and the requests that arrive meanwhile make the
/// next batch larger rather than a second batch beside it, which would cost the database
/// a statement's fixed work again: with two writers (the second from eight queued
/// requests) the batches shrank from about 6.5 to 5.3 requests and the database's time
/// per request grew by a fifth (`BENCHMARKS.md`, issue 16).
pub(crate) const LIMITS: Limits = Limits {
    max: 64,
    writers: 1,
    // With one writer no batch starts beside another: the value is never consulted.
    extra_at: 1,
};

/// Decides `jobs` as one batch (tried again when it met a deadlock), answering each; a
/// batch the database refuses otherwise is decided again one request at a time, so that
/// one bad request fails alone.
pub(crate) async fn write(
    pool: &PgPool,
    checks: &Checks,
    jobs: Vec<HitJob>,
) -> Vec<StoreResult<ThrottleDecision>> {
    let mut attempt = 1;
    let failed = loop {
        match decide(pool, checks, &jobs).await {
            Ok(decisions) => return decisions.into_iter().map(Ok).collect(),
            Err(e) if is_retryable(&e) && attempt < ATTEMPTS => attempt += 1,
            Err(e) => break e,
        }
    };
    if jobs.len() == 1 {
        return vec![Err(from_sqlx(failed))];
    }
    // A batch whose outcome is not known (its connection lost) may have recorded its
    // requests: deciding them again would count them twice.
    if !wrote_nothing(&failed) {
        return fail_all(jobs.len(), failed);
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let mut attempt = 1;
        answers.push(loop {
            match try_hit(pool, checks, &job.hits, job.now).await {
                Ok(decision) => break Ok(decision),
                Err(e) if is_retryable(&e) && attempt < ATTEMPTS => attempt += 1,
                Err(e) => break Err(from_sqlx(e)),
            }
        });
    }
    answers
}

/// One statement for the batch; the checked scopes' recorded keys are announced in its
/// transaction, as a single decision announces them.
async fn decide(
    pool: &PgPool,
    checks: &Checks,
    jobs: &[HitJob],
) -> Result<Vec<ThrottleDecision>, sqlx::Error> {
    let mut sizes = Vec::with_capacity(jobs.len());
    let (mut keys, mut limits, mut periods, mut records, mut nows) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut notes = Vec::new();
    for job in jobs {
        sizes.push(i32::try_from(job.hits.len()).unwrap_or(i32::MAX));
        for hit in &job.hits {
            keys.push(hit.key.as_str());
            limits.push(limit_of(hit.rate));
            periods.push(hit.rate.period_micros());
            records.push(hit.records());
            nows.push(job.now);
        }
        notes.extend(checks.recorded.announce(&job.hits, job.now));
    }
    let sql = if notes.is_empty() {
        "SELECT exit3_throttle_hits($1::int4[], $2::text[], $3::int4[], $4::int8[], \
                                    $5::bool[], $6::int8[])"
    } else {
        "SELECT exit3_throttle_hits($1::int4[], $2::text[], $3::int4[], $4::int8[], \
                                    $5::bool[], $6::int8[]), \
                (SELECT count(*) FROM (SELECT pg_notify($7, n) \
                                       FROM unnest($8::text[]) AS n) AS sent)"
    };
    let mut query = sqlx::query_scalar::<_, Vec<i64>>(sql)
        .bind(&sizes)
        .bind(&keys)
        .bind(&limits)
        .bind(&periods)
        .bind(&records)
        .bind(&nows);
    if !notes.is_empty() {
        query = query.bind(CHANNEL).bind(&notes);
    }
    let answers = query.fetch_one(pool).await?;
    if answers.len() != 2 * jobs.len() {
        return Err(sqlx::Error::Protocol(format!(
            "exit3_throttle_hits answered {} numbers for {} requests",
            answers.len(),
            jobs.len()
        )));
    }
    Ok(answers
        .chunks(2)
        .map(|pair| match *pair {
            [hit, wait] if hit >= 0 => ThrottleDecision::Refused {
                retry_after: retry_after_secs(wait),
                hit: usize::try_from(hit).unwrap_or(0),
            },
            _ => ThrottleDecision::Accepted,
        })
        .collect())
}
