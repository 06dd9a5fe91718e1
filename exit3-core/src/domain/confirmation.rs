//! Confirming an address (consent.md §2): the stored token of a confirmation link, what
//! following it does, and the confirmation itself — pure rules every store applies
//! under its own lock or transaction.

use super::{RequestFacts, Subscriber, SubscriberId, SubscriberStatus};
use crate::clock::Timestamp;

/// A stored confirmation token (its hash is the key it is found by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRecord {
    /// Whose.
    pub subscriber: SubscriberId,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was used, if it was.
    pub used_at: Option<Timestamp>,
}

/// What a confirmation link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmDecision {
    /// Confirm the subscriber and use up the token.
    Confirm,
    /// Already done: a used token of a subscriber who is active now (a double click).
    AlreadyConfirmed,
    /// Unknown, expired, used (and not active), or the subscriber left since.
    Invalid,
}

/// What a confirmation link with this token does to this subscriber.
pub fn decide_confirm(
    token: Option<&TokenRecord>,
    subscriber: Option<&Subscriber>,
    now: Timestamp,
) -> ConfirmDecision {
    let (Some(token), Some(subscriber)) = (token, subscriber) else {
        return ConfirmDecision::Invalid;
    };
    match (token.used_at, subscriber.status) {
        (Some(_), SubscriberStatus::Active) => ConfirmDecision::AlreadyConfirmed,
        (Some(_), _) => ConfirmDecision::Invalid,
        (None, _) if token.expires_at <= now => ConfirmDecision::Invalid,
        (None, SubscriberStatus::Pending) => ConfirmDecision::Confirm,
        (None, SubscriberStatus::Active) => ConfirmDecision::AlreadyConfirmed,
        (None, SubscriberStatus::Unsubscribed) => ConfirmDecision::Invalid,
    }
}

/// Confirms a pending subscriber: active, `confirmed_at`, where the confirmation came
/// from in the consent record. The link in the mail is the person's own proof, so it
/// also ends a quarantine.
pub fn confirm(subscriber: &mut Subscriber, facts: &RequestFacts, now: Timestamp) {
    subscriber.quarantine = None;
    super::set_status(subscriber, SubscriberStatus::Active, now);
    subscriber.confirmed_at = Some(now);
    subscriber.consent.confirmed_ip = facts.ip;
    subscriber.consent.confirmed_user_agent = facts.user_agent.clone();
}
