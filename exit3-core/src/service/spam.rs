//! The spam defence's decisions (capture.md §1): `GET form-token/`, and the verdict on a
//! public create or subscribe.

use super::{Exit3, RequestContext};
use crate::{
    access::Operation,
    clock::Timestamp,
    error::Error,
    idempotency::{Begun, Fingerprint, RecordKey},
    input::Payload,
    spam::{FormToken, IssuedToken, Quarantine, SpamReason},
};

impl Exit3 {
    /// `GET form-token/`: a token for the website's form (admin or public key, counted
    /// as `general`).
    pub async fn issue_form_token(&self, ctx: &RequestContext) -> Result<IssuedToken, Error> {
        self.admit(ctx, Operation::IssueFormToken).await?;
        let spam = &self.inner.spam;
        Ok(IssuedToken {
            token: FormToken::issue(self.secrets(), self.now()),
            min_age_seconds: spam.min_age.as_secs(),
            expires_in: spam.max_age.as_secs(),
        })
    }

    /// The quarantine a public request's `payload` earns at `now`, if any: the
    /// policy's signals, and the single use of a good form token, shared by every
    /// instance through the store (a used token is a record that never gets an
    /// answer, held until the token would have expired anyway).
    pub(super) async fn judge(
        &self,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<Option<Quarantine>, Error> {
        let (reasons, token) = self.inner.spam.judge(payload, self.secrets(), now);
        self.settle(reasons, token, now).await
    }

    /// The verdict on the policy's `reasons` and the request's form `token` (if it had a
    /// good one), which is spent here.
    pub(super) async fn settle(
        &self,
        mut reasons: Vec<SpamReason>,
        token: Option<FormToken>,
        now: Timestamp,
    ) -> Result<Option<Quarantine>, Error> {
        let spam = &self.inner.spam;
        if let Some(token) = token {
            let key = RecordKey::form_token(&token.nonce);
            let until = token.issued_at
                + time::Duration::try_from(spam.max_age).unwrap_or(time::Duration::DAY);
            let first = self
                .inner
                .store
                .begin_idempotent(key, Fingerprint([0; 32]), now, until, until)
                .await?;
            if first != Begun::Started {
                reasons.push(SpamReason::FormTokenReused);
            }
        }
        reasons.sort_unstable();
        reasons.dedup();
        Ok((!reasons.is_empty()).then_some(Quarantine { reasons, at: now }))
    }
}
