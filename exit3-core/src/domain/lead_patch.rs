//! [`LeadPatch`]: a valid change to a stored lead, read from a PATCH or PUT body (and
//! the writable fields a create shares with it).

use super::lead::{MESSAGE, NAME, NOTES, PHONE};
use super::{Lead, LeadStatus, Policy};
use crate::{
    access::Scope,
    clock::Timestamp,
    error::{Error, FieldErrors},
    input::{self, Payload},
    text::EmailAddress,
};

/// A valid change to a stored lead: only the fields given are changed. Made by
/// [`LeadPatch::partial`] (PATCH) or [`LeadPatch::full`] (PUT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadPatch {
    pub(super) full_name: Option<String>,
    pub(super) position: Option<String>,
    pub(super) company_name: Option<Option<String>>,
    pub(super) email: Option<Option<String>>,
    pub(super) phone: Option<Option<String>>,
    pub(super) message: Option<Option<String>>,
    pub(super) status: Option<LeadStatus>,
    pub(super) source: Option<String>,
    pub(super) category: Option<String>,
    pub(super) notes: Option<String>,
}

impl LeadPatch {
    /// A PATCH body: every field optional.
    pub fn partial(payload: &Payload, policy: &Policy) -> Result<Self, Error> {
        Self::parse(payload, policy, true)
    }

    /// A PUT body: `full_name` and `position` required; as in DRF, optional fields that
    /// are left out keep their values.
    pub fn full(payload: &Payload, policy: &Policy) -> Result<Self, Error> {
        Self::parse(payload, policy, false)
    }

    fn parse(payload: &Payload, policy: &Policy, partial: bool) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let patch = Self::read(payload, policy, Scope::Admin, partial, &mut errors);
        errors.into_result(patch)
    }

    /// New full name, if given.
    pub fn full_name(&self) -> Option<&str> {
        self.full_name.as_deref()
    }
    /// New position, if given.
    pub fn position(&self) -> Option<&str> {
        self.position.as_deref()
    }
    /// `Some(None)` clears the company.
    pub fn company_name(&self) -> Option<Option<&str>> {
        self.company_name.as_ref().map(Option::as_deref)
    }
    /// `Some(None)` clears the address.
    pub fn email(&self) -> Option<Option<&str>> {
        self.email.as_ref().map(Option::as_deref)
    }
    /// `Some(None)` clears the phone number.
    pub fn phone(&self) -> Option<Option<&str>> {
        self.phone.as_ref().map(Option::as_deref)
    }
    /// `Some(None)` clears the message.
    pub fn message(&self) -> Option<Option<&str>> {
        self.message.as_ref().map(Option::as_deref)
    }
    /// New status, if given.
    pub fn status(&self) -> Option<LeadStatus> {
        self.status
    }
    /// New source, if given.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
    /// New category, if given.
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }
    /// New notes, if given (empty clears them).
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_deref()
    }

    /// Sets a new status (a building block for embedders' own workflows).
    pub fn with_status(mut self, status: LeadStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Applies the change to `lead` and moves its `updated_at` to `now`. `updated_at`
    /// moves even when no field is given, as DRF's `save()` does.
    pub fn apply(&self, lead: &mut Lead, now: Timestamp) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                target.clone_from(v);
            }
        }
        set(&mut lead.full_name, &self.full_name);
        set(&mut lead.position, &self.position);
        set(&mut lead.company_name, &self.company_name);
        set(&mut lead.email, &self.email);
        set(&mut lead.phone, &self.phone);
        set(&mut lead.message, &self.message);
        set(&mut lead.status, &self.status);
        set(&mut lead.source, &self.source);
        set(&mut lead.category, &self.category);
        set(&mut lead.notes, &self.notes);
        lead.updated_at = now;
    }
}

impl LeadPatch {
    /// Reads the writable fields a body gives, recording failures in `errors`.
    pub(super) fn read(
        payload: &Payload,
        policy: &Policy,
        scope: Scope,
        partial: bool,
        errors: &mut FieldErrors,
    ) -> Self {
        Self {
            full_name: input::required_text(payload, errors, "full_name", NAME, partial),
            position: input::required_text(payload, errors, "position", NAME, partial),
            company_name: input::optional_text(payload, errors, "company_name", NAME),
            email: input::optional_email(
                payload,
                errors,
                "email",
                Some(policy.disposable_domains()),
            )
            .map(|e| e.map(EmailAddress::into_string)),
            phone: input::optional_text(payload, errors, "phone", PHONE),
            message: input::optional_text(payload, errors, "message", MESSAGE),
            status: match scope {
                Scope::Admin => input::choice(payload, errors, "status", LeadStatus::parse),
                Scope::Public => None,
            },
            source: input::choice(payload, errors, "source", |s| policy.source(s)),
            category: input::choice(payload, errors, "category", |s| policy.category(s)),
            // Internal: the public key's `notes` is ignored like any unknown field.
            notes: match scope {
                Scope::Admin => input::optional_text(payload, errors, "notes", NOTES)
                    .map(Option::unwrap_or_default),
                Scope::Public => None,
            },
        }
    }
}
