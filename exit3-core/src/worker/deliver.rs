//! The delivery step: due outbox messages claimed with a lease, sent through the ports,
//! and each attempt recorded — delivered, retried on the schedule, or failed.

use futures_util::{StreamExt, stream};

use crate::{
    error::Error,
    messages,
    outbox::{self, AttemptOutcome, Claimed, LEASE, OutboxMessage},
    ports::{Mail, MailContent, MailError, Ports, WebhookReply, WebhookRequest},
    service::Exit3,
    tokens::ConfirmationToken,
    webhooks::{WebhookId, WebhookPatch, signature_header},
};

/// How much one delivery step takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryLimits {
    /// The most messages one step claims.
    pub batch: u32,
    /// The most messages sent at once.
    pub concurrency: usize,
}

impl Default for DeliveryLimits {
    fn default() -> Self {
        Self {
            batch: 64,
            concurrency: 4,
        }
    }
}

/// What one delivery step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Messages claimed (due, and not leased by another worker).
    pub claimed: u32,
    /// Sent and recorded as delivered.
    pub delivered: u32,
    /// Not sent: they no longer applied.
    pub skipped: u32,
    /// Failed this time and scheduled again.
    pub retried: u32,
    /// Failed for good (a permanent failure, or the last attempt).
    pub failed: u32,
    /// Attempts whose outcome could not be recorded (the lease ran out and another worker
    /// took the message over, or the store failed): they will be tried again.
    pub unrecorded: u32,
}

impl DeliveryReport {
    fn add(&mut self, outcome: &AttemptOutcome, recorded: bool) {
        if !recorded {
            self.unrecorded += 1;
            return;
        }
        match outcome {
            AttemptOutcome::Delivered => self.delivered += 1,
            AttemptOutcome::Skipped { .. } => self.skipped += 1,
            AttemptOutcome::Retry { .. } => self.retried += 1,
            AttemptOutcome::Failed { .. } => self.failed += 1,
        }
    }
}

impl Exit3 {
    /// One delivery step at the service's current time: claims up to `limits.batch` due
    /// messages, sends them through `ports` (`limits.concurrency` at a time) and records
    /// each attempt. Safe to run from several workers at once: a claimed message is
    /// leased to its worker and sent by no other while the lease holds; delivery is
    /// at-least-once (a worker that dies after sending and before recording leaves the
    /// message to be sent again when its lease ends).
    pub async fn deliver_once(
        &self,
        ports: &Ports,
        limits: DeliveryLimits,
    ) -> Result<DeliveryReport, Error> {
        let now = self.now();
        let lease_until = now + time::Duration::try_from(LEASE).unwrap_or(time::Duration::MINUTE);
        let claimed = self
            .store()
            .claim_due(now, limits.batch, lease_until)
            .await?;
        let mut report = DeliveryReport {
            claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
            ..DeliveryReport::default()
        };
        let outcomes: Vec<(AttemptOutcome, bool)> = stream::iter(claimed)
            .map(|claim| async move {
                let (outcome, status_code) = match &claim.message {
                    OutboxMessage::Webhook { .. } => self.call_webhook(&claim, ports).await,
                    OutboxMessage::Confirmation { .. } | OutboxMessage::LeadNotification { .. } => {
                        (self.attempt(&claim, ports).await, None)
                    }
                };
                // Observed before it is recorded: whoever sees the message leave the
                // outbox sees its attempt counted too.
                self.observer()
                    .delivered(claim.message.kind(), outcome.label());
                // A record that fails is as if the lease ran out: the message is tried
                // again when it ends (at-least-once); the report counts it.
                let recorded = self
                    .store()
                    .record_attempt(claim.id, claim.attempt, &outcome, status_code, self.now())
                    .await
                    .unwrap_or(false);
                (outcome, recorded)
            })
            .buffer_unordered(limits.concurrency.max(1))
            .collect()
            .await;
        for (outcome, recorded) in &outcomes {
            report.add(outcome, *recorded);
        }
        Ok(report)
    }

    /// The pending messages by kind, for metrics and health pages (every kind with at
    /// least one).
    pub async fn outbox_stats(&self) -> Result<Vec<outbox::OutboxStats>, Error> {
        Ok(self.store().outbox_stats().await?)
    }

    /// One attempt at one message.
    async fn attempt(&self, claim: &Claimed, ports: &Ports) -> AttemptOutcome {
        let mail = match self.compose(claim).await {
            Ok(Some(mail)) => mail,
            Ok(None) => {
                let reason = match claim.message {
                    OutboxMessage::LeadNotification { .. } => "the message holds no lead",
                    _ => "the subscriber is no longer waiting for a confirmation",
                };
                return AttemptOutcome::Skipped {
                    reason: reason.into(),
                };
            }
            // The store could not say: like a temporary failure.
            Err(e) => return self.retry_or_fail(claim, e.to_string(), None),
        };
        match ports.mailer.send(&mail).await {
            Ok(()) => AttemptOutcome::Delivered,
            Err(MailError::Permanent(error)) => AttemptOutcome::Failed { error },
            Err(MailError::Temporary(error)) => self.retry_or_fail(claim, error, None),
        }
    }

    /// One attempt at a webhook delivery, and the receiver's status code: signed with
    /// the endpoint's live secrets at this attempt's time; 2xx delivers, 410 disables
    /// the endpoint and fails, anything else (a redirect included) or no answer is
    /// retried on the schedule, honouring the `Retry-After` of a 429 or 503.
    async fn call_webhook(&self, claim: &Claimed, ports: &Ports) -> (AttemptOutcome, Option<u16>) {
        let OutboxMessage::Webhook {
            endpoint,
            message_id,
            body,
            ..
        } = &claim.message
        else {
            return (self.attempt(claim, ports).await, None);
        };
        let found = match self.store().get_webhook(*endpoint).await {
            Ok(found) => found,
            Err(e) => return (self.retry_or_fail(claim, e.to_string(), None), None),
        };
        let Some(target) = found else {
            let reason = "the endpoint was deleted".to_owned();
            return (AttemptOutcome::Skipped { reason }, None);
        };
        if !target.enabled {
            let reason = "the endpoint is disabled".to_owned();
            return (AttemptOutcome::Skipped { reason }, None);
        }
        let now = self.now();
        let timestamp = now.unix_timestamp();
        let request = WebhookRequest {
            url: target.url.as_str().to_owned(),
            message_id: message_id.clone(),
            timestamp,
            signature: signature_header(&target.live_secrets(now), message_id, timestamp, body),
            body: body.clone(),
        };
        match ports.webhooks.post(&request).await {
            WebhookReply::Answered { status, .. } if (200..300).contains(&status) => {
                (AttemptOutcome::Delivered, Some(status))
            }
            WebhookReply::Answered { status: 410, .. } => {
                self.disable_webhook(*endpoint).await;
                let error = "410 Gone: the endpoint is disabled".to_owned();
                (AttemptOutcome::Failed { error }, Some(410))
            }
            WebhookReply::Answered {
                status,
                retry_after,
            } => {
                let asked = retry_after.filter(|_| matches!(status, 429 | 503));
                let error = format!("HTTP {status}");
                (self.retry_or_fail(claim, error, asked), Some(status))
            }
            WebhookReply::NoAnswer(error) => (self.retry_or_fail(claim, error, None), None),
        }
    }

    /// Turns an endpoint off after its receiver answered 410 (best effort: if the store
    /// fails now, the next delivery's 410 tries again).
    async fn disable_webhook(&self, id: WebhookId) {
        let patch = WebhookPatch {
            enabled: Some(false),
            ..WebhookPatch::default()
        };
        let _ = self.store().update_webhook(id, &patch, self.now()).await;
    }

    /// The mail a message asks for, or `None` when it no longer applies.
    async fn compose(&self, claim: &Claimed) -> Result<Option<Mail>, Error> {
        match &claim.message {
            OutboxMessage::Confirmation { subscriber } => {
                let token = ConfirmationToken::generate();
                let ttl = time::Duration::try_from(self.newsletter().confirm_ttl)
                    .unwrap_or(time::Duration::DAY * 3);
                let now = self.now();
                let Some(subscriber) = self
                    .store()
                    .issue_confirmation(*subscriber, token.hash(), now + ttl, now)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(Mail {
                    id: mail_id(claim),
                    to: subscriber.email,
                    subject: messages::CONFIRM_SUBJECT.to_owned(),
                    content: MailContent::Confirmation {
                        confirm_url: self.newsletter().confirm_link(token.as_str()),
                    },
                    unsubscribe_url: Some(self.unsubscribe_url(subscriber.id)),
                    reply_to: None,
                }))
            }
            OutboxMessage::LeadNotification { to, body } => Ok(super::notify::lead_notification(
                mail_id(claim),
                to,
                body,
                self.newsletter().base_url(),
            )),
            OutboxMessage::Webhook { .. } => Ok(None),
        }
    }

    fn retry_or_fail(
        &self,
        claim: &Claimed,
        error: String,
        retry_after: Option<std::time::Duration>,
    ) -> AttemptOutcome {
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        match outbox::next_attempt_at(claim.attempt, self.now(), jitter, retry_after) {
            Some(at) => AttemptOutcome::Retry { at, error },
            None => AttemptOutcome::Failed { error },
        }
    }
}

/// A mail's id: its outbox message's, the same on every attempt.
fn mail_id(claim: &Claimed) -> String {
    format!("outbox-{}-{}", claim.id, claim.created_at.unix_timestamp())
}
