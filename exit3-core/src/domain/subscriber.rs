//! Newsletter subscribers: the stored [`Subscriber`] and the inputs [`NewSubscriber`],
//! [`SubscriberPatch`] and [`Unsubscribe`].

use std::fmt;

use super::{Policy, SubscriberId};
use crate::{
    choice_enum,
    clock::Timestamp,
    error::{Error, FieldErrors},
    input::{self, Payload, TextRule},
    text::EmailAddress,
};

choice_enum!(
    /// Whether a subscriber receives the newsletter.
    SubscriberStatus {
        /// Receives it (the default).
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
    /// Active or unsubscribed.
    pub status: SubscriberStatus,
    /// One of the policy's sources.
    pub source: String,
    /// When the store created it.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it last became unsubscribed; `None` while active.
    pub unsubscribed_at: Option<Timestamp>,
}

impl fmt::Display for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.email)
    }
}

/// What a subscribe call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// A new subscriber was stored (HTTP 201).
    Created,
    /// An unsubscribed address became active again (HTTP 200).
    Reactivated,
    /// The address was already active; nothing changed (HTTP 200).
    AlreadyActive,
}

const NAME: TextRule = TextRule::plain(255);

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
}

impl NewSubscriber {
    /// Parses a subscribe body (`email`, `full_name`, `source`); the address is
    /// lower-cased whole, as it is stored and compared.
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
        let Some(email) = email else {
            return Err(Error::Validation(errors));
        };
        errors.into_result(Self {
            email,
            full_name,
            source: source.unwrap_or_else(|| policy.default_source().to_owned()),
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

    /// The stored subscriber this becomes, for stores that build it themselves.
    pub fn into_subscriber(self, id: SubscriberId, now: Timestamp) -> Subscriber {
        Subscriber {
            id,
            email: self.email,
            full_name: self.full_name,
            status: SubscriberStatus::Active,
            source: self.source,
            created_at: now,
            updated_at: now,
            unsubscribed_at: None,
        }
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
        if let Some(status) = self.status {
            set_status(subscriber, status, now);
        }
        subscriber.updated_at = now;
    }
}

/// Moves a subscriber to `status`, keeping `unsubscribed_at` consistent with it. Setting
/// the status it already has changes nothing.
pub fn set_status(subscriber: &mut Subscriber, status: SubscriberStatus, now: Timestamp) {
    if subscriber.status == status {
        return;
    }
    subscriber.status = status;
    subscriber.unsubscribed_at = match status {
        SubscriberStatus::Active => None,
        SubscriberStatus::Unsubscribed => Some(now),
    };
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
        let mut s = NewSubscriber::parse(&body(json!({"email": "a@b.co"})), &Policy::default())
            .map(|s| {
                s.into_subscriber(
                    SubscriberId::new(1).expect("positive"),
                    crate::clock::from_micros(0),
                )
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let t = crate::clock::from_micros(10);
        set_status(&mut s, SubscriberStatus::Unsubscribed, t);
        assert_eq!(s.unsubscribed_at, Some(t));
        set_status(&mut s, SubscriberStatus::Active, t);
        assert_eq!(s.unsubscribed_at, None);
    }
}
