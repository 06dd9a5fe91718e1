//! Leads: the stored [`Lead`], its [`ClientInfo`], and the input [`NewLead`] that can
//! only exist valid (its changes: [`LeadPatch`](super::LeadPatch)).

use std::fmt;

use super::{ClientInfo, LeadId, LeadPatch, Origin, Policy};
use crate::{
    access::Scope,
    choice_enum,
    clock::Timestamp,
    error::{Error, FieldErrors},
    input::{self, Payload, TextKind, TextRule},
    spam::Quarantine,
    text,
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
    /// Staff's internal notes (admin.md): at most 10,000 characters, line breaks kept;
    /// empty when there are none. Never written by, nor shown to, the public key.
    pub notes: String,
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

pub(super) const NAME: TextRule = TextRule::plain(255);
pub(super) const PHONE: TextRule = TextRule::of(TextKind::Phone, 32);
pub(super) const MESSAGE: TextRule = TextRule {
    max: 5000,
    multiline: true,
    kind: TextKind::Plain,
};
/// The most characters of a lead's `notes`.
pub const NOTES_MAX: usize = 10_000;
pub(super) const NOTES: TextRule = TextRule {
    max: NOTES_MAX,
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
    notes: String,
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
            notes: fields.notes.unwrap_or_default(),
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
    /// Empty unless the admin wrote some.
    pub fn notes(&self) -> &str {
        &self.notes
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
            notes: self.notes,
            client_info: Some(self.client_info),
            created_at: now,
            updated_at: now,
            quarantine: self.quarantine,
        }
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
