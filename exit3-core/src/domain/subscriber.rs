//! Newsletter subscribers: the stored [`Subscriber`] and the inputs [`NewSubscriber`],
//! [`SubscriberPatch`] and [`Unsubscribe`]. Their lifecycle — pending, active,
//! unsubscribed, with the consent record — is in [`subscription`](super::subscription).

use std::fmt;

use super::{Consent, Policy, SubscriberId, UnsubscribeMethod};
use crate::{
    choice_enum,
    clock::Timestamp,
    error::{Error, FieldErrors},
    input::{self, Payload, TextRule},
    spam::Quarantine,
    text::EmailAddress,
};

choice_enum!(
    /// Whether a subscriber receives the newsletter.
    SubscriberStatus {
        /// Asked to subscribe; waits for the confirmation of the address (double opt-in).
        Pending = "pending",
        /// Receives it.
        Active = "active",
        /// Asked to stop.
        Unsubscribed = "unsubscribed",
    }
);

/// A stored subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Given by the store.
    pub id: SubscriberId,
    /// Lower-case; unique among subscribers.
    pub email: String,
    /// At most 255 characters.
    pub full_name: Option<String>,
    /// Pending, active or unsubscribed.
    pub status: SubscriberStatus,
    /// One of the policy's sources.
    pub source: String,
    /// When the store created it.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it last became unsubscribed; `None` unless unsubscribed.
    pub unsubscribed_at: Option<Timestamp>,
    /// When the address was last confirmed (double opt-in).
    pub confirmed_at: Option<Timestamp>,
    /// How and when the person consented, and left.
    pub consent: Consent,
    /// When the latest confirmation mails were queued (at most the newest
    /// [`RESENDS_PER_DAY`](super::subscription::RESENDS_PER_DAY)): the resend limits.
    pub confirmations_sent: Vec<Timestamp>,
    /// Why and since when it is held back as doubtful (capture.md §1); `None`: accepted.
    pub quarantine: Option<Quarantine>,
}

impl Subscriber {
    /// Its status as the outside world has heard of it: `None` while quarantined, since
    /// a quarantined subscription fires no event until released.
    pub fn announced_status(&self) -> Option<SubscriberStatus> {
        self.quarantine.is_none().then_some(self.status)
    }
}

impl fmt::Display for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.email)
    }
}

/// What a subscribe call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubscribeOutcome {
    /// A new subscriber was stored (HTTP 201).
    Created,
    /// An unsubscribed address subscribed again (HTTP 200): pending again with double
    /// opt-in, active without.
    Reactivated,
    /// The address was already active; nothing changed (HTTP 200).
    AlreadyActive,
    /// The address was already waiting for its confirmation (HTTP 200); a new
    /// confirmation mail went out if the resend limits allow.
    StillPending,
}

const NAME: TextRule = TextRule::plain(255);
const CONSENT_TEXT: TextRule = TextRule::multiline(CONSENT_TEXT_MAX);

/// A subscriber's address as stored and compared: wholly lower-cased.
fn lower(email: Option<EmailAddress>) -> Option<String> {
    email.map(|e| e.to_lowercase().into_string())
}

/// A valid subscription. Made only by [`NewSubscriber::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    email: String,
    full_name: Option<String>,
    source: String,
    consent_text: Option<String>,
}

/// The longest consent wording kept, in characters.
pub const CONSENT_TEXT_MAX: usize = 2000;

impl NewSubscriber {
    /// Parses a subscribe body (`email`, `full_name`, `source`, `consent_text`: the
    /// wording the form showed, at most 2000 characters, line breaks allowed); the address
    /// is lower-cased whole, as it is stored and compared.
    pub fn parse(payload: &Payload, policy: &Policy) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let email = lower(input::required_email(
            payload,
            &mut errors,
            "email",
            Some(policy.disposable_domains()),
            false,
        ));
        let full_name = input::optional_text(payload, &mut errors, "full_name", NAME).flatten();
        let source = input::choice(payload, &mut errors, "source", |s| policy.source(s));
        let consent_text =
            input::optional_text(payload, &mut errors, "consent_text", CONSENT_TEXT).flatten();
        let Some(email) = email else {
            return Err(Error::Validation(errors));
        };
        errors.into_result(Self {
            email,
            full_name,
            source: source.unwrap_or_else(|| policy.default_source().to_owned()),
            consent_text,
        })
    }

    /// Lower-case address.
    pub fn email(&self) -> &str {
        &self.email
    }
    /// Optional name.
    pub fn full_name(&self) -> Option<&str> {
        self.full_name.as_deref()
    }
    /// One of the policy's sources.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The consent wording the form showed, if the body said.
    pub fn consent_text(&self) -> Option<&str> {
        self.consent_text.as_deref()
    }
}

/// A valid change to a stored subscriber (admin PATCH): only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberPatch {
    email: Option<String>,
    full_name: Option<Option<String>>,
    status: Option<SubscriberStatus>,
    source: Option<String>,
}

impl SubscriberPatch {
    /// Parses a PATCH body (`email`, `full_name`, `status`, `source`).
    pub fn parse(payload: &Payload, policy: &Policy) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let patch = Self {
            email: lower(input::required_email(
                payload,
                &mut errors,
                "email",
                Some(policy.disposable_domains()),
                true,
            )),
            full_name: input::optional_text(payload, &mut errors, "full_name", NAME),
            status: input::choice(payload, &mut errors, "status", SubscriberStatus::parse),
            source: input::choice(payload, &mut errors, "source", |s| policy.source(s)),
        };
        errors.into_result(patch)
    }

    /// New lower-case address, if given. Stores refuse one another subscriber has with
    /// [`EMAIL_TAKEN`](crate::messages::EMAIL_TAKEN) on `email`.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    /// `Some(None)` clears the name.
    pub fn full_name(&self) -> Option<Option<&str>> {
        self.full_name.as_ref().map(Option::as_deref)
    }
    /// New status, if given.
    pub fn status(&self) -> Option<SubscriberStatus> {
        self.status
    }
    /// New source, if given.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Applies the change and moves `updated_at` to `now`. A change of status sets
    /// `unsubscribed_at` (to `now` on unsubscribing, to none on re-activating).
    pub fn apply(&self, subscriber: &mut Subscriber, now: Timestamp) {
        if let Some(email) = &self.email {
            subscriber.email.clone_from(email);
        }
        if let Some(name) = &self.full_name {
            subscriber.full_name.clone_from(name);
        }
        if let Some(source) = &self.source {
            subscriber.source.clone_from(source);
        }
        if let Some(status) = self.status
            && status != subscriber.status
        {
            set_status(subscriber, status, now);
            if status == SubscriberStatus::Unsubscribed {
                subscriber.consent.unsubscribe_method = Some(UnsubscribeMethod::Admin);
            }
        }
        subscriber.updated_at = now;
    }
}

/// Moves a subscriber to `status`, keeping `unsubscribed_at` (and the consent record's)
/// consistent with it. Setting the status it already has changes nothing.
pub fn set_status(subscriber: &mut Subscriber, status: SubscriberStatus, now: Timestamp) {
    if subscriber.status == status {
        return;
    }
    subscriber.status = status;
    subscriber.unsubscribed_at = match status {
        SubscriberStatus::Unsubscribed => Some(now),
        SubscriberStatus::Pending | SubscriberStatus::Active => None,
    };
    if status != SubscriberStatus::Unsubscribed {
        subscriber.consent.unsubscribe_method = None;
    }
    subscriber.updated_at = now;
}

/// A valid unsubscribe request: a syntactically valid address, lower-cased. Disposable
/// domains are not refused here: refusing would tell the caller something, and such an
/// address can never have subscribed anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    email: String,
}

impl Unsubscribe {
    /// Parses `{"email"}`.
    pub fn parse(payload: &Payload) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let email = lower(input::required_email(
            payload,
            &mut errors,
            "email",
            None,
            false,
        ));
        match email {
            Some(email) if errors.is_empty() => Ok(Self { email }),
            _ => Err(Error::Validation(errors)),
        }
    }

    /// The lower-case address.
    pub fn email(&self) -> &str {
        &self.email
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: serde_json::Value) -> Payload {
        Payload::from_json(v).unwrap_or_default()
    }

    #[test]
    fn subscribing_lower_cases_the_whole_address() {
        let s = NewSubscriber::parse(
            &body(json!({"email": " Ada@Example.COM "})),
            &Policy::default(),
        );
        assert_eq!(s.ok().map(|s| s.email), Some("ada@example.com".to_owned()));
    }

    #[test]
    fn subscribing_refuses_bad_and_disposable_addresses() {
        for (email, message) in [
            (json!("nope"), crate::messages::EMAIL),
            (json!("a@mailinator.com"), crate::messages::DISPOSABLE),
            (json!(null), crate::messages::NULL),
            (json!(""), crate::messages::BLANK),
        ] {
            let r = NewSubscriber::parse(&body(json!({"email": email})), &Policy::default());
            let Err(Error::Validation(e)) = r else {
                panic!("{email} should fail")
            };
            assert_eq!(e.get("email"), Some(&[message.to_owned()][..]));
        }
    }

    #[test]
    fn unsubscribe_accepts_any_valid_address() {
        let u = Unsubscribe::parse(&body(json!({"email": "X@Mailinator.com"})));
        assert_eq!(u.ok().map(|u| u.email), Some("x@mailinator.com".to_owned()));
        assert!(Unsubscribe::parse(&body(json!({}))).is_err());
    }

    #[test]
    fn status_changes_keep_unsubscribed_at_consistent() {
        let subscriber =
            NewSubscriber::parse(&body(json!({"email": "a@b.co"})), &Policy::default())
                .unwrap_or_else(|e| panic!("{e}"));
        let request = super::super::SubscribeRequest {
            subscriber,
            facts: super::super::RequestFacts::default(),
            default_consent_text: None,
            double_opt_in: false,
            quarantine: None,
        };
        let id = SubscriberId::new(1).expect("positive");
        let (mut s, _) = request.create(id, crate::clock::from_micros(0));
        let t = crate::clock::from_micros(10);
        set_status(&mut s, SubscriberStatus::Unsubscribed, t);
        assert_eq!(s.unsubscribed_at, Some(t));
        set_status(&mut s, SubscriberStatus::Active, t);
        assert_eq!(s.unsubscribed_at, None);
    }
}
