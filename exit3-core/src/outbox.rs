//! The outbox: every side effect (a mail today, a webhook call later) is a message
//! written in the same store call as the change that causes it, and sent by the delivery
//! worker — never on a request's path, never lost. Here: the messages, their attempts
//! and leases, and the retry schedule (capture.md §3 and §4).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    choice_enum, clock::Timestamp, domain::SubscriberId, events::EventType, id_type,
    webhooks::WebhookId,
};

id_type!(
    /// An outbox message's id.
    OutboxId
);

choice_enum!(
    /// What kind of delivery a message is (metrics label).
    OutboxKind {
        /// A mail through the `Mailer` port.
        Mail = "mail",
        /// A webhook call.
        Webhook = "webhook",
    }
);

choice_enum!(
    /// Where a message is in its life.
    DeliveryStatus {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// Sent.
        Delivered = "delivered",
        /// Given up: a permanent failure, or the last attempt failed.
        Failed = "failed",
        /// Not sent because it no longer applied (its subscriber confirmed or left).
        Skipped = "skipped",
    }
);

/// The topic of [`OutboxMessage::LeadNotification`] (stores that write it in SQL use it).
pub const LEAD_NOTIFICATION_TOPIC: &str = "lead_notification";

/// What a message asks to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboxMessage {
    /// The double opt-in mail to a pending subscriber (its token is made when it is
    /// sent, so that no token is ever stored but as its hash).
    Confirmation {
        /// To whom.
        subscriber: SubscriberId,
    },
    /// The staff mail about a new lead (`LEAD_NOTIFY_EMAILS`), one per address.
    LeadNotification {
        /// The staff address.
        to: String,
        /// The `lead.created` event's body: the lead as it was stored.
        body: String,
    },
    /// One event to one webhook endpoint.
    Webhook {
        /// Where.
        endpoint: WebhookId,
        /// `webhook-id`, the same on every attempt.
        message_id: String,
        /// What it announces.
        event_type: EventType,
        /// The body, as sent on every attempt (the signature covers it).
        body: String,
    },
}

impl OutboxMessage {
    /// Its kind.
    pub fn kind(&self) -> OutboxKind {
        match self {
            Self::Confirmation { .. } | Self::LeadNotification { .. } => OutboxKind::Mail,
            Self::Webhook { .. } => OutboxKind::Webhook,
        }
    }

    /// Its topic, as stores keep it (`confirmation`).
    pub fn topic(&self) -> &'static str {
        match self {
            Self::Confirmation { .. } => "confirmation",
            Self::LeadNotification { .. } => LEAD_NOTIFICATION_TOPIC,
            Self::Webhook { .. } => "webhook",
        }
    }

    /// Its data, as stores keep it.
    pub fn payload(&self) -> Value {
        match self {
            Self::Confirmation { subscriber } => json!({"subscriber": subscriber.get()}),
            Self::LeadNotification { to, body } => json!({"to": to, "body": body}),
            Self::Webhook {
                endpoint,
                message_id,
                event_type,
                body,
            } => json!({
                "endpoint": endpoint.get(),
                "message_id": message_id,
                "type": event_type.as_str(),
                "body": body,
            }),
        }
    }

    /// The message a store kept as `topic` and `payload`; `None` when it cannot be one.
    pub fn from_parts(topic: &str, payload: &Value) -> Option<Self> {
        match topic {
            "confirmation" => {
                let id = payload.get("subscriber")?.as_i64()?;
                Some(Self::Confirmation {
                    subscriber: SubscriberId::new(id)?,
                })
            }
            LEAD_NOTIFICATION_TOPIC => Some(Self::LeadNotification {
                to: payload.get("to")?.as_str()?.to_owned(),
                body: payload.get("body")?.as_str()?.to_owned(),
            }),
            "webhook" => Some(Self::Webhook {
                endpoint: WebhookId::new(payload.get("endpoint")?.as_i64()?)?,
                message_id: payload.get("message_id")?.as_str()?.to_owned(),
                event_type: EventType::parse(payload.get("type")?.as_str()?)?,
                body: payload.get("body")?.as_str()?.to_owned(),
            }),
            _ => None,
        }
    }
}

/// A message claimed by a worker: its id, which attempt this is (from 1), what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The message.
    pub id: OutboxId,
    /// Which attempt this claim is for; the record of its outcome must name it, so that
    /// a worker whose lease ran out cannot record over the one that took it over.
    pub attempt: u32,
    /// What to deliver.
    pub message: OutboxMessage,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Delivered.
    Delivered,
    /// Not sent: it no longer applies.
    Skipped {
        /// Why, for the record.
        reason: String,
    },
    /// Failed; try again at `at`.
    Retry {
        /// The next attempt's time.
        at: Timestamp,
        /// What went wrong.
        error: String,
    },
    /// Failed for good.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl AttemptOutcome {
    /// The status a message has after this outcome.
    pub fn status(&self) -> DeliveryStatus {
        match self {
            Self::Delivered => DeliveryStatus::Delivered,
            Self::Skipped { .. } => DeliveryStatus::Skipped,
            Self::Retry { .. } => DeliveryStatus::Pending,
            Self::Failed { .. } => DeliveryStatus::Failed,
        }
    }

    /// A short fixed name (metrics label): `delivered`, `skipped`, `retried`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Skipped { .. } => "skipped",
            Self::Retry { .. } => "retried",
            Self::Failed { .. } => "failed",
        }
    }

    /// The error kept with the message, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Delivered => None,
            Self::Skipped { reason } => Some(reason),
            Self::Retry { error, .. } | Self::Failed { error } => Some(error),
        }
    }
}

/// How long a claimed message is a worker's: a crashed worker's messages are taken over
/// once it ends.
pub const LEASE: Duration = Duration::from_secs(60);

/// The waits after each failed attempt, before the next: then the message fails.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The longest wait a `Retry-After` can ask for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 3600);

/// When to try again after attempt `attempt` (from 1) failed at `now`: the schedule's
/// wait, moved by `jitter` (from -1 to 1) times a tenth of it, or at least `retry_after`
/// (capped at 10 hours) when the receiver asked; `None` after the last attempt.
pub fn next_attempt_at(
    attempt: u32,
    now: Timestamp,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Timestamp> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let wait = RETRY_SCHEDULE.get(index)?;
    let spread = wait.as_secs_f64() * 0.1 * jitter.clamp(-1.0, 1.0);
    let mut secs = (wait.as_secs_f64() + spread).max(0.0);
    if let Some(asked) = retry_after {
        secs = secs.max(asked.min(MAX_RETRY_AFTER).as_secs_f64());
    }
    Some(now + time::Duration::seconds_f64(secs))
}

/// The pending messages of one kind (metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxStats {
    /// Which kind.
    pub kind: OutboxKind,
    /// How many wait.
    pub pending: u64,
    /// When the oldest of them was queued.
    pub oldest_pending: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_micros;

    #[test]
    fn messages_survive_the_stores_form() {
        let m = OutboxMessage::Confirmation {
            subscriber: SubscriberId::new(9).unwrap_or_else(|| panic!("positive")),
        };
        assert_eq!(
            OutboxMessage::from_parts(m.topic(), &m.payload()),
            Some(m.clone())
        );
        assert_eq!(m.kind(), OutboxKind::Mail);
        assert_eq!(OutboxMessage::from_parts("nope", &m.payload()), None);
        let w = OutboxMessage::Webhook {
            endpoint: crate::webhooks::WebhookId::new(3).unwrap_or_else(|| panic!("positive")),
            message_id: "msg_x".into(),
            event_type: EventType::SubscriberConfirmed,
            body: "{}".into(),
        };
        assert_eq!(
            OutboxMessage::from_parts(w.topic(), &w.payload()),
            Some(w.clone())
        );
        assert_eq!(w.kind(), OutboxKind::Webhook);
    }

    #[test]
    fn the_retry_schedule_is_the_contracts_with_its_jitter() {
        let now = from_micros(0);
        let secs = |t: Option<Timestamp>| t.map(|t| (t - now).as_seconds_f64());
        assert_eq!(secs(next_attempt_at(1, now, 0.0, None)), Some(5.0));
        assert_eq!(secs(next_attempt_at(2, now, 0.0, None)), Some(300.0));
        assert_eq!(secs(next_attempt_at(7, now, 0.0, None)), Some(36_000.0));
        assert_eq!(next_attempt_at(8, now, 0.0, None), None);
        assert_eq!(next_attempt_at(0, now, 0.0, None), None);
        assert_eq!(secs(next_attempt_at(2, now, 1.0, None)), Some(330.0));
        assert_eq!(secs(next_attempt_at(2, now, -1.0, None)), Some(270.0));
        assert_eq!(
            secs(next_attempt_at(1, now, 0.0, Some(Duration::from_secs(120)))),
            Some(120.0)
        );
        assert_eq!(
            secs(next_attempt_at(
                1,
                now,
                0.0,
                Some(Duration::from_secs(999_999))
            )),
            Some(36_000.0)
        );
    }
}
