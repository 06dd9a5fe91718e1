//! Leads: the stored [`Lead`], its [`ClientInfo`], and the inputs [`NewLead`] and
//! [`LeadPatch`] that can only exist valid.

use std::fmt;

use super::{ClientInfo, LeadId, Origin, Policy};
use crate::{
    access::Scope,
    choice_enum,
    clock::Timestamp,
    error::{Error, FieldErrors},
    input::{self, Payload, TextKind, TextRule},
    spam::Quarantine,
    text::{self, EmailAddress},
};

choice_enum!(
    /// Where a lead is in the sales workflow.
    LeadStatus {
        /// Just arrived (the default).
        New = "new",
        /// Somebody has answered.
        Contacted = "contacted",
        /// Worth pursuing.
        Qualified = "qualified",
        /// Became a client.
        Converted = "converted",
        /// Gone.
        Lost = "lost",
    }
);

/// A stored lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    /// Given by the store.
    pub id: LeadId,
    /// 1–255 characters.
    pub full_name: String,
    /// 1–255 characters.
    pub position: String,
    /// At most 255 characters.
    pub company_name: Option<String>,
    /// A valid, non-disposable address with a lower-case domain.
    pub email: Option<String>,
    /// At most 32 characters of digits, spaces and `+ - ( ) .`.
    pub phone: Option<String>,
    /// At most 5000 characters; line breaks kept.
    pub message: Option<String>,
    /// Workflow state.
    pub status: LeadStatus,
    /// One of the policy's sources.
    pub source: String,
    /// One of the policy's categories.
    pub category: String,
    /// Captured at creation.
    pub client_info: Option<ClientInfo>,
    /// When the store created it.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Set when the spam defence doubted it (capture.md §1): stored, silent, listed only
    /// on request, until staff release it.
    pub quarantine: Option<Quarantine>,
}

impl fmt::Display for Lead {
    /// `Full Name (Company)`, or `Full Name (No company)`: the admin list's form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let company = self.company_name.as_deref().unwrap_or("No company");
        write!(f, "{} ({company})", self.full_name)
    }
}

const NAME: TextRule = TextRule::plain(255);
const PHONE: TextRule = TextRule::of(TextKind::Phone, 32);
const MESSAGE: TextRule = TextRule {
    max: 5000,
    multiline: true,
    kind: TextKind::Plain,
};

/// A lead that passed every rule and may be stored. Made only by [`NewLead::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    full_name: String,
    position: String,
    company_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    status: LeadStatus,
    source: String,
    category: String,
    client_info: ClientInfo,
    quarantine: Option<Quarantine>,
}

impl NewLead {
    /// Parses a create body. Every failing field is reported at once. `status` is read
    /// only for the admin scope (the public form cannot set it); the `utm_*` fields go
    /// into the [`ClientInfo`] together with the request's `origin`.
    pub fn parse(
        payload: &Payload,
        policy: &Policy,
        scope: Scope,
        origin: &Origin,
    ) -> Result<Self, Error> {
        let mut errors = FieldErrors::new();
        let fields = LeadPatch::read(payload, policy, scope, false, &mut errors);
        let mut utm = [None, None, None];
        for (slot, name) in utm
            .iter_mut()
            .zip(["utm_source", "utm_medium", "utm_campaign"])
        {
            *slot = input::optional_text(payload, &mut errors, name, NAME).flatten();
        }
        let [utm_source, utm_medium, utm_campaign] = utm;
        let (Some(full_name), Some(position)) = (fields.full_name, fields.position) else {
            // Both are required: their absence is already among the errors.
            return Err(Error::Validation(errors));
        };
        errors.into_result(Self {
            full_name,
            position,
            company_name: fields.company_name.flatten(),
            email: fields.email.flatten(),
            phone: fields.phone.flatten(),
            message: fields.message.flatten(),
            status: fields.status.unwrap_or_default(),
            source: fields
                .source
                .unwrap_or_else(|| policy.default_source().to_owned()),
            category: fields
                .category
                .unwrap_or_else(|| policy.default_category().to_owned()),
            client_info: ClientInfo {
                ip_address: origin.ip,
                user_agent: text::header_text(origin.user_agent.as_deref()),
                referrer: text::header_text(origin.referrer.as_deref()),
                utm_source,
                utm_medium,
                utm_campaign,
            },
            quarantine: None,
        })
    }

    /// 1–255 characters.
    pub fn full_name(&self) -> &str {
        &self.full_name
    }
    /// 1–255 characters.
    pub fn position(&self) -> &str {
        &self.position
    }
    /// At most 255 characters.
    pub fn company_name(&self) -> Option<&str> {
        self.company_name.as_deref()
    }
    /// Valid, not disposable, domain lower-cased.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    /// Phone characters only.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
    /// At most 5000 characters.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// `new` unless the admin set another.
    pub fn status(&self) -> LeadStatus {
        self.status
    }
    /// One of the policy's sources.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// One of the policy's categories.
    pub fn category(&self) -> &str {
        &self.category
    }
    /// Captured from the request.
    pub fn client_info(&self) -> &ClientInfo {
        &self.client_info
    }

    /// Why the spam defence doubted it, if it did.
    pub fn quarantine(&self) -> Option<&Quarantine> {
        self.quarantine.as_ref()
    }

    /// The same lead, quarantined (`None`: accepted).
    pub fn with_quarantine(mut self, quarantine: Option<Quarantine>) -> Self {
        self.quarantine = quarantine;
        self
    }

    /// The stored lead this becomes, for stores that build it themselves.
    pub fn into_lead(self, id: LeadId, now: Timestamp) -> Lead {
        Lead {
            id,
            full_name: self.full_name,
            position: self.position,
            company_name: self.company_name,
            email: self.email,
            phone: self.phone,
            message: self.message,
            status: self.status,
            source: self.source,
            category: self.category,
            client_info: Some(self.client_info),
            created_at: now,
            updated_at: now,
            quarantine: self.quarantine,
        }
    }
}

impl LeadPatch {
    /// Reads the writable fields a body gives, recording failures in `errors`.
    fn read(
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
        }
    }
}

/// A valid change to a stored lead: only the fields given are changed. Made by
/// [`LeadPatch::partial`] (PATCH) or [`LeadPatch::full`] (PUT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadPatch {
    full_name: Option<String>,
    position: Option<String>,
    company_name: Option<Option<String>>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    message: Option<Option<String>>,
    status: Option<LeadStatus>,
    source: Option<String>,
    category: Option<String>,
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
        lead.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: serde_json::Value) -> Payload {
        Payload::from_json(v).unwrap_or_default()
    }

    fn errors_of(r: Result<impl fmt::Debug, Error>) -> FieldErrors {
        match r {
            Err(Error::Validation(e)) => e,
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    fn new_lead(v: serde_json::Value, scope: Scope) -> Result<NewLead, Error> {
        NewLead::parse(&body(v), &Policy::default(), scope, &Origin::default())
    }

    #[test]
    fn a_minimal_lead_gets_the_defaults() {
        let lead = new_lead(
            json!({"full_name": " Ada ", "position": "CTO"}),
            Scope::Public,
        );
        let lead = lead.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lead.full_name(), "Ada");
        assert_eq!(lead.status(), LeadStatus::New);
        assert_eq!(lead.source(), "website");
        assert_eq!(lead.category(), "other");
    }

    #[test]
    fn every_failing_field_is_reported_at_once() {
        let errors = errors_of(new_lead(
            json!({"email": "nope", "phone": "abc", "status": "bogus", "source": "tv",
                   "message": "<b>hi</b>", "utm_source": "<script>"}),
            Scope::Admin,
        ));
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "email",
                "full_name",
                "message",
                "phone",
                "position",
                "source",
                "status",
                "utm_source"
            ]
        );
        assert_eq!(
            errors.get("status"),
            Some(&["\"bogus\" is not a valid choice.".to_owned()][..])
        );
        assert_eq!(
            errors.get("message"),
            Some(&["HTML markup is not allowed.".to_owned()][..])
        );
    }

    #[test]
    fn the_public_scope_cannot_set_status() {
        let v = json!({"full_name": "A", "position": "B", "status": "converted"});
        let public = new_lead(v.clone(), Scope::Public).map(|l| l.status());
        assert_eq!(public.ok(), Some(LeadStatus::New));
        let admin = new_lead(v, Scope::Admin).map(|l| l.status());
        assert_eq!(admin.ok(), Some(LeadStatus::Converted));
    }

    #[test]
    fn client_info_cuts_headers_and_keeps_utm() {
        let origin = Origin {
            ip: "10.1.2.3".parse().ok(),
            user_agent: Some("x".repeat(600)),
            referrer: Some(String::new()),
        };
        let lead = NewLead::parse(
            &body(json!({"full_name": "A", "position": "B", "utm_source": "news"})),
            &Policy::default(),
            Scope::Public,
            &origin,
        );
        let info = lead.map(|l| l.client_info().clone()).unwrap_or_default();
        assert_eq!(info.user_agent.map(|u| u.len()), Some(512));
        assert_eq!(info.referrer, None);
        assert_eq!(info.utm_source.as_deref(), Some("news"));
        assert_eq!(info.ip_address, "10.1.2.3".parse().ok());
    }

    #[test]
    fn put_requires_the_required_fields_and_patch_does_not() {
        let p = body(json!({"status": "lost"}));
        let errors = errors_of(LeadPatch::full(&p, &Policy::default()));
        assert_eq!(errors.iter().count(), 2);
        let patch = LeadPatch::partial(&p, &Policy::default());
        assert_eq!(patch.ok().and_then(|p| p.status()), Some(LeadStatus::Lost));
    }

    #[test]
    fn display_names_the_company_or_says_there_is_none() {
        let mut lead = new_lead(
            json!({"full_name": "Ada Lovelace", "position": "x"}),
            Scope::Admin,
        )
        .map(|l| {
            l.into_lead(
                LeadId::new(1).expect("positive"),
                crate::clock::from_micros(0),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lead.to_string(), "Ada Lovelace (No company)");
        lead.company_name = Some("Analytical".into());
        assert_eq!(lead.to_string(), "Ada Lovelace (Analytical)");
    }

    #[test]
    fn patch_applies_only_given_fields() {
        let mut lead = new_lead(
            json!({"full_name": "A", "position": "B", "company_name": "C"}),
            Scope::Admin,
        )
        .map(|l| {
            l.into_lead(
                LeadId::new(1).expect("positive"),
                crate::clock::from_micros(0),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let patch = LeadPatch::partial(
            &body(json!({"company_name": null, "position": "P"})),
            &Policy::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        patch.apply(&mut lead, crate::clock::from_micros(5));
        assert_eq!(
            (lead.full_name.as_str(), lead.position.as_str()),
            ("A", "P")
        );
        assert_eq!(lead.company_name, None);
        assert_eq!(lead.updated_at, crate::clock::from_micros(5));
    }
}
