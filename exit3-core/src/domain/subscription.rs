//! The subscriber lifecycle of `consent.md`: `pending → active → unsubscribed`, the
//! consent record, the resend limits of confirmation mails, and confirming. Written as
//! pure transitions on a [`Subscriber`] that every store applies under its own lock or
//! transaction, so that the rules are the core's, once.

use std::{net::IpAddr, time::Duration};

pub use super::confirmation::{ConfirmDecision, TokenRecord, confirm, decide_confirm};
use super::{NewSubscriber, Origin, SubscribeOutcome, Subscriber, SubscriberId, SubscriberStatus};
use crate::{choice_enum, clock::Timestamp, spam::Quarantine, text};

/// The fewest minutes between two confirmation mails to one address.
pub const RESEND_GAP: Duration = Duration::from_secs(10 * 60);
/// The most confirmation mails to one address in 24 hours.
pub const RESENDS_PER_DAY: usize = 5;
const DAY: Duration = Duration::from_secs(24 * 3600);

choice_enum!(
    /// How a subscriber left.
    UnsubscribeMethod {
        /// The unsubscribe page of a mail's link.
        Link = "link",
        /// A mail client's one-click unsubscribe (RFC 8058).
        OneClick = "one_click",
        /// `POST newsletter/unsubscribe/`.
        Api = "api",
        /// Staff (an admin-key PATCH, the staff site).
        Admin = "admin",
    }
);

/// How and when a person consented (GDPR Art. 7(1)), and when and how they left. Kept
/// while the subscriber exists, erased with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consent {
    /// The wording the form showed (or `NEWSLETTER_CONSENT_TEXT`).
    pub text: Option<String>,
    /// When the current subscription was asked for.
    pub subscribed_at: Option<Timestamp>,
    /// From where.
    pub subscribed_ip: Option<IpAddr>,
    /// With which browser.
    pub subscribed_user_agent: Option<String>,
    /// Where the confirmation came from.
    pub confirmed_ip: Option<IpAddr>,
    /// With which browser.
    pub confirmed_user_agent: Option<String>,
    /// How the subscriber left, while unsubscribed.
    pub unsubscribe_method: Option<UnsubscribeMethod>,
}

/// Where a request came from, as the consent record keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent`, cleaned and cut as stored headers are.
    pub user_agent: Option<String>,
}

impl RequestFacts {
    /// The facts of a request's origin: its address, and its `User-Agent` as stored
    /// headers are kept (format characters removed, cut to 512 characters).
    pub fn from_origin(origin: &Origin) -> Self {
        Self {
            ip: origin.ip,
            user_agent: text::header_text(origin.user_agent.as_deref()),
        }
    }
}

/// A subscribe request with everything the transition needs: the parsed body, where it
/// came from, and the newsletter's rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// The parsed body.
    pub subscriber: NewSubscriber,
    /// Where it came from.
    pub facts: RequestFacts,
    /// The consent wording when the body carries none (`NEWSLETTER_CONSENT_TEXT`).
    pub default_consent_text: Option<String>,
    /// `NEWSLETTER_DOUBLE_OPT_IN`.
    pub double_opt_in: bool,
    /// The spam defence's verdict (capture.md §1): `Some` holds the subscription back —
    /// stored, answered as usual, but no mail and no event until staff release it.
    pub quarantine: Option<Quarantine>,
}

/// What subscribing did: the outcome, and whether a confirmation mail is to be queued
/// (in the same store call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeEffect {
    /// 201, or which 200.
    pub outcome: SubscribeOutcome,
    /// Queue a confirmation mail.
    pub confirmation_mail: bool,
}

impl SubscribeRequest {
    fn fresh_consent(&self, now: Timestamp) -> Consent {
        Consent {
            text: self
                .subscriber
                .consent_text()
                .map(str::to_owned)
                .or_else(|| self.default_consent_text.clone()),
            subscribed_at: Some(now),
            subscribed_ip: self.facts.ip,
            subscribed_user_agent: self.facts.user_agent.clone(),
            ..Consent::default()
        }
    }

    /// The subscriber a new address becomes, with `id` (given by the store): pending
    /// with its first confirmation mail under double opt-in, active at once without; a
    /// quarantined one is mailed nothing (its mail waits for the release).
    pub fn create(&self, id: SubscriberId, now: Timestamp) -> (Subscriber, SubscribeEffect) {
        let pending = self.double_opt_in;
        let mail = pending && self.quarantine.is_none();
        let subscriber = Subscriber {
            id,
            email: self.subscriber.email().to_owned(),
            full_name: self.subscriber.full_name().map(str::to_owned),
            status: if pending {
                SubscriberStatus::Pending
            } else {
                SubscriberStatus::Active
            },
            source: self.subscriber.source().to_owned(),
            created_at: now,
            updated_at: now,
            unsubscribed_at: None,
            confirmed_at: None,
            consent: self.fresh_consent(now),
            confirmations_sent: if mail { vec![now] } else { Vec::new() },
            quarantine: self.quarantine.clone(),
        };
        let effect = SubscribeEffect {
            outcome: SubscribeOutcome::Created,
            confirmation_mail: mail,
        };
        (subscriber, effect)
    }

    /// Subscribing an address that exists (consent.md §2): active stays as it is;
    /// pending gets another confirmation mail within the resend limits; unsubscribed
    /// comes back — pending and mailed under double opt-in, active without — with a
    /// fresh consent record.
    ///
    /// A quarantined request answers the same but changes no accepted subscriber and
    /// mails nothing; only an unsubscribed address comes back, quarantined (so a bot
    /// cannot bring back someone who left, and staff see the attempt). An accepted
    /// request for a quarantined subscriber is the person's own: it clears the
    /// quarantine and goes on as for an accepted one.
    pub fn apply(&self, existing: &mut Subscriber, now: Timestamp) -> SubscribeEffect {
        let doubtful = self.quarantine.is_some();
        if !doubtful && existing.quarantine.take().is_some() {
            existing.updated_at = now;
        }
        let (outcome, confirmation_mail) = match existing.status {
            SubscriberStatus::Active => (SubscribeOutcome::AlreadyActive, false),
            SubscriberStatus::Pending => {
                let mail = !doubtful && may_resend(&existing.confirmations_sent, now);
                (SubscribeOutcome::StillPending, mail)
            }
            SubscriberStatus::Unsubscribed => {
                let status = if self.double_opt_in {
                    SubscriberStatus::Pending
                } else {
                    SubscriberStatus::Active
                };
                super::set_status(existing, status, now);
                existing.consent = self.fresh_consent(now);
                existing.quarantine = self.quarantine.clone();
                let mail = self.double_opt_in
                    && !doubtful
                    && may_resend(&existing.confirmations_sent, now);
                (SubscribeOutcome::Reactivated, mail)
            }
        };
        if confirmation_mail {
            note_mail(existing, now);
        }
        SubscribeEffect {
            outcome,
            confirmation_mail,
        }
    }
}

/// Records a confirmation mail queued at `now`, keeping the newest [`RESENDS_PER_DAY`].
fn note_mail(subscriber: &mut Subscriber, now: Timestamp) {
    subscriber.confirmations_sent.push(now);
    let keep = subscriber
        .confirmations_sent
        .len()
        .saturating_sub(RESENDS_PER_DAY);
    subscriber.confirmations_sent.drain(..keep);
    subscriber.updated_at = now;
}

/// Releases a quarantined subscriber (`POST newsletter/{id}/release/`): the quarantine
/// is cleared and what acceptance would have sent goes out — the confirmation mail of a
/// pending one (within the resend limits), the `subscriber.confirmed` of an active one
/// (stores announce [`Event::subscriber_change`](crate::events::Event::subscriber_change)
/// from "unheard"). `None` when it was not quarantined: nothing changes.
pub fn release(subscriber: &mut Subscriber, now: Timestamp) -> Option<Released> {
    subscriber.quarantine.take()?;
    subscriber.updated_at = now;
    let mail = subscriber.status == SubscriberStatus::Pending
        && may_resend(&subscriber.confirmations_sent, now);
    if mail {
        note_mail(subscriber, now);
    }
    Some(Released {
        confirmation_mail: mail,
    })
}

/// What releasing a quarantined subscriber sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Queue a confirmation mail (in the same store call).
    pub confirmation_mail: bool,
}

/// Whether another confirmation mail may go to an address whose earlier ones went out
/// at `sent`: not within [`RESEND_GAP`] of the last, at most [`RESENDS_PER_DAY`] a day.
pub fn may_resend(sent: &[Timestamp], now: Timestamp) -> bool {
    let since = |d: Duration| now - time::Duration::try_from(d).unwrap_or(time::Duration::ZERO);
    let gap_ok = sent.iter().all(|&t| t <= since(RESEND_GAP));
    let today = sent.iter().filter(|&&t| t > since(DAY)).count();
    gap_ok && today < RESENDS_PER_DAY
}

/// Unsubscribes (from pending or active) and records how; `false` when the subscriber
/// was unsubscribed already (nothing changes: repeating answers the same).
pub fn unsubscribe(subscriber: &mut Subscriber, method: UnsubscribeMethod, now: Timestamp) -> bool {
    if subscriber.status == SubscriberStatus::Unsubscribed {
        return false;
    }
    super::set_status(subscriber, SubscriberStatus::Unsubscribed, now);
    subscriber.consent.unsubscribe_method = Some(method);
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{clock::from_micros, domain::Policy, input::Payload};

    fn t(seconds: i64) -> Timestamp {
        from_micros(1_735_689_600_000_000 + seconds * 1_000_000)
    }

    fn request(double_opt_in: bool) -> SubscribeRequest {
        let body = Payload::from_json(json!({"email": "Ada@Example.com"})).unwrap_or_default();
        SubscribeRequest {
            subscriber: NewSubscriber::parse(&body, &Policy::default())
                .unwrap_or_else(|e| panic!("{e}")),
            facts: RequestFacts {
                ip: "203.0.113.4".parse().ok(),
                user_agent: Some("agent".into()),
            },
            default_consent_text: Some("Yes, send me the newsletter.".into()),
            double_opt_in,
            quarantine: None,
        }
    }

    fn id() -> SubscriberId {
        SubscriberId::new(1).unwrap_or_else(|| panic!("positive"))
    }

    #[test]
    fn a_new_address_is_pending_with_a_mail_under_double_opt_in_and_active_without() {
        let (s, effect) = request(true).create(id(), t(0));
        assert_eq!(
            (s.status, effect.confirmation_mail),
            (SubscriberStatus::Pending, true)
        );
        assert_eq!(effect.outcome, SubscribeOutcome::Created);
        assert_eq!(
            s.consent.text.as_deref(),
            Some("Yes, send me the newsletter.")
        );
        assert_eq!(s.consent.subscribed_at, Some(t(0)));
        assert_eq!(s.email, "ada@example.com");
        let (s, effect) = request(false).create(id(), t(0));
        assert_eq!(
            (s.status, effect.confirmation_mail),
            (SubscriberStatus::Active, false)
        );
    }

    #[test]
    fn confirmation_mails_are_limited_to_one_per_ten_minutes_and_five_a_day() {
        let r = request(true);
        let (mut s, _) = r.create(id(), t(0));
        let mut sent = 1;
        // Every minute for 30 hours: one mail every 10 minutes until 5 in a day.
        for minute in 1..(30 * 60) {
            let effect = r.apply(&mut s, t(minute * 60));
            assert_eq!(effect.outcome, SubscribeOutcome::StillPending);
            if effect.confirmation_mail {
                sent += 1;
            }
            let window: Vec<_> = s
                .confirmations_sent
                .iter()
                .filter(|&&x| x > t(minute * 60 - 86_400))
                .collect();
            assert!(window.len() <= RESENDS_PER_DAY, "minute {minute}");
        }
        // 5 in the first day (0, 10, 20, 30, 40 minutes), then 5 more from 24:00 on.
        assert_eq!(sent, 10);
        assert_eq!(s.confirmations_sent.len(), RESENDS_PER_DAY);
    }

    #[test]
    fn an_unsubscribed_address_comes_back_pending_with_fresh_consent() {
        let r = request(true);
        let (mut s, _) = r.create(id(), t(0));
        confirm(&mut s, &RequestFacts::default(), t(5));
        assert_eq!(
            r.apply(&mut s, t(10)).outcome,
            SubscribeOutcome::AlreadyActive
        );
        assert!(unsubscribe(&mut s, UnsubscribeMethod::OneClick, t(20)));
        assert!(!unsubscribe(&mut s, UnsubscribeMethod::Link, t(21)));
        assert_eq!(
            s.consent.unsubscribe_method,
            Some(UnsubscribeMethod::OneClick)
        );
        let effect = r.apply(&mut s, t(3600));
        assert_eq!(effect.outcome, SubscribeOutcome::Reactivated);
        assert!(effect.confirmation_mail);
        assert_eq!(s.status, SubscriberStatus::Pending);
        assert_eq!(
            (s.unsubscribed_at, s.consent.unsubscribe_method),
            (None, None)
        );
        assert_eq!(s.consent.subscribed_at, Some(t(3600)));
    }

    #[test]
    fn confirmation_links_work_once_until_they_expire() {
        let (mut s, _) = request(true).create(id(), t(0));
        let token = TokenRecord {
            subscriber: s.id,
            expires_at: t(100),
            used_at: None,
        };
        assert_eq!(
            decide_confirm(None, Some(&s), t(1)),
            ConfirmDecision::Invalid
        );
        assert_eq!(
            decide_confirm(Some(&token), Some(&s), t(100)),
            ConfirmDecision::Invalid
        );
        assert_eq!(
            decide_confirm(Some(&token), Some(&s), t(1)),
            ConfirmDecision::Confirm
        );
        confirm(
            &mut s,
            &RequestFacts {
                ip: "192.0.2.1".parse().ok(),
                user_agent: None,
            },
            t(1),
        );
        assert_eq!(s.confirmed_at, Some(t(1)));
        let used = TokenRecord {
            used_at: Some(t(1)),
            ..token
        };
        assert_eq!(
            decide_confirm(Some(&used), Some(&s), t(500)),
            ConfirmDecision::AlreadyConfirmed
        );
        unsubscribe(&mut s, UnsubscribeMethod::Api, t(2));
        assert_eq!(
            decide_confirm(Some(&used), Some(&s), t(3)),
            ConfirmDecision::Invalid
        );
        assert_eq!(
            decide_confirm(Some(&token), Some(&s), t(3)),
            ConfirmDecision::Invalid
        );
    }

    fn quarantined(double_opt_in: bool) -> SubscribeRequest {
        SubscribeRequest {
            quarantine: Some(Quarantine {
                reasons: vec![crate::spam::SpamReason::Honeypot],
                at: t(0),
            }),
            ..request(double_opt_in)
        }
    }

    #[test]
    fn a_quarantined_subscription_is_stored_but_mailed_nothing_until_released() {
        let (mut s, effect) = quarantined(true).create(id(), t(0));
        assert_eq!(effect.outcome, SubscribeOutcome::Created);
        assert!(!effect.confirmation_mail);
        assert!(s.confirmations_sent.is_empty());
        assert_eq!(s.announced_status(), None);
        // Asking again while quarantined still mails nothing.
        let again = quarantined(true).apply(&mut s, t(3600));
        assert_eq!(
            (again.outcome, again.confirmation_mail),
            (SubscribeOutcome::StillPending, false)
        );
        let released = release(&mut s, t(7200));
        assert_eq!(released.map(|r| r.confirmation_mail), Some(true));
        assert_eq!(s.confirmations_sent, vec![t(7200)]);
        assert_eq!(s.announced_status(), Some(SubscriberStatus::Pending));
        assert_eq!(release(&mut s, t(7300)), None, "released once");
    }

    #[test]
    fn a_quarantined_request_changes_no_accepted_subscriber_and_brings_back_nobody_unheard() {
        let (mut s, _) = request(false).create(id(), t(0));
        let before = s.clone();
        let effect = quarantined(false).apply(&mut s, t(10));
        assert_eq!(effect.outcome, SubscribeOutcome::AlreadyActive);
        assert_eq!(s, before);
        assert!(unsubscribe(&mut s, UnsubscribeMethod::Api, t(20)));
        let effect = quarantined(true).apply(&mut s, t(30));
        assert_eq!(
            (effect.outcome, effect.confirmation_mail),
            (SubscribeOutcome::Reactivated, false)
        );
        assert_eq!(s.status, SubscriberStatus::Pending);
        assert_eq!(s.announced_status(), None);
    }

    #[test]
    fn the_persons_own_request_or_confirmation_ends_a_quarantine() {
        let (mut s, _) = quarantined(true).create(id(), t(0));
        let effect = request(true).apply(&mut s, t(60));
        assert!(effect.confirmation_mail, "the real request mails at once");
        assert!(s.quarantine.is_none());
        let (mut s, _) = quarantined(true).create(id(), t(0));
        confirm(&mut s, &RequestFacts::default(), t(5));
        assert_eq!(s.announced_status(), Some(SubscriberStatus::Active));
    }
}
