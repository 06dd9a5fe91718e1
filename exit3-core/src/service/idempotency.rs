//! Idempotent creates (capture.md §2): a frontend that sees an `Idempotency-Key` on
//! `POST leads/` or `POST newsletter/` begins it here, after authentication and before
//! throttling, then runs the operation as usual and finishes with the answer it gave.

use super::{Exit3, RequestContext};
use crate::{
    access::Operation,
    error::Error,
    idempotency::{self, Begun, Fingerprint, IdempotencyKey, RecordKey, StoredAnswer},
};

/// A request with an `Idempotency-Key`, as the frontend received it.
#[derive(Debug, Clone, Copy)]
pub struct IdempotentRequest<'a> {
    /// The header's value.
    pub key: &'a str,
    /// The method (`POST`).
    pub method: &'a str,
    /// The path as the client sent it.
    pub path: &'a str,
    /// The body bytes.
    pub body: &'a [u8],
}

/// How a frontend goes on with an idempotent request.
#[derive(Debug)]
#[must_use = "a started request must be finished"]
pub enum Idempotent {
    /// The key cannot be tracked for this caller (no valid key, or one not allowed
    /// this operation): run the operation, which refuses it; nothing is kept.
    Untracked,
    /// Run the operation, then [`Exit3::finish_idempotent`] with its answer.
    Started(IdempotencyTicket),
    /// Answer this again, marked as a replay; nothing else runs (nor is throttled).
    Replay(StoredAnswer),
}

/// The hold of a started request on its key.
#[derive(Debug)]
#[must_use = "a started request must be finished"]
pub struct IdempotencyTicket {
    key: RecordKey,
}

impl Exit3 {
    /// Begins `request` for `operation`: [`Error::InvalidIdempotencyKey`] for a bad
    /// header, [`Error::IdempotencyMismatch`] when the key was used with another
    /// request, [`Error::IdempotencyRunning`] while its first request runs.
    pub async fn begin_idempotent(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        request: IdempotentRequest<'_>,
    ) -> Result<Idempotent, Error> {
        let Ok(caller) = self.inner.keys.authenticate(&ctx.credential) else {
            return Ok(Idempotent::Untracked);
        };
        if !caller.allows(operation) {
            return Ok(Idempotent::Untracked);
        }
        let key = IdempotencyKey::parse(request.key).ok_or(Error::InvalidIdempotencyKey)?;
        let record = RecordKey::new(&caller, ctx.origin.ip, &key);
        let fingerprint = Fingerprint::of(request.method, request.path, request.body);
        let now = self.now();
        let lease = time::Duration::try_from(idempotency::LEASE).unwrap_or(time::Duration::MINUTE);
        let ttl =
            time::Duration::try_from(self.inner.idempotency_ttl).unwrap_or(time::Duration::DAY);
        match self
            .inner
            .store
            .begin_idempotent(record, fingerprint, now, now + lease, now + ttl)
            .await?
        {
            Begun::Started => Ok(Idempotent::Started(IdempotencyTicket { key: record })),
            Begun::Answered(answer) => Ok(Idempotent::Replay(answer)),
            Begun::Running => Err(Error::IdempotencyRunning),
            Begun::Mismatch => Err(Error::IdempotencyMismatch),
        }
    }

    /// Ends a started request with the answer it got: a success or a validation failure
    /// is kept for replays; anything else frees the key for a retry.
    pub async fn finish_idempotent(
        &self,
        ticket: IdempotencyTicket,
        status: u16,
        body: &str,
    ) -> Result<(), Error> {
        if idempotency::keeps(status) {
            let answer = StoredAnswer {
                status,
                body: body.to_owned(),
            };
            self.inner
                .store
                .finish_idempotent(ticket.key, &answer)
                .await?;
        } else {
            self.inner.store.release_idempotent(ticket.key).await?;
        }
        Ok(())
    }
}
