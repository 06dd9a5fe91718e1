//! Scopes and operations: which key may call what (§2 of the contract), and which
//! throttle scopes each operation counts against.

use crate::throttle::ThrottleScope;

/// What a valid key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every operation.
    Admin,
    /// Create leads, subscribe and unsubscribe; read back nothing but what it created.
    Public,
}

/// Every operation of the contract, for authorisation and throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `GET leads/`
    ListLeads,
    /// `POST leads/`
    CreateLead,
    /// `GET leads/{id}/`
    GetLead,
    /// `PATCH` / `PUT leads/{id}/`
    UpdateLead,
    /// `DELETE leads/{id}/`
    DeleteLead,
    /// `GET newsletter/`
    ListSubscribers,
    /// `POST newsletter/`
    Subscribe,
    /// `GET newsletter/{id}/`
    GetSubscriber,
    /// `PATCH newsletter/{id}/`
    UpdateSubscriber,
    /// `DELETE newsletter/{id}/`
    DeleteSubscriber,
    /// `POST newsletter/unsubscribe/`
    Unsubscribe,
    /// `POST newsletter/confirm/`
    ConfirmSubscription,
    /// `GET /backend/metrics` (admin; never throttled, but a key that is not valid counts
    /// as a failed authentication like anywhere else).
    ReadMetrics,
    /// The `webhooks/` routes (admin).
    ManageWebhooks,
    /// `GET form-token/` (admin, public; counted as `general`).
    IssueFormToken,
    /// `POST leads/{id}/release/` (admin).
    ReleaseLead,
    /// `POST newsletter/{id}/release/` (admin).
    ReleaseSubscriber,
    /// `GET privacy/export/` (admin).
    ExportPerson,
    /// `POST privacy/erase/` (admin).
    ErasePerson,
    /// Staff users: list, add, change (admin key; superusers on the staff site).
    ManageStaff,
    /// A lead's or subscriber's change history (admin).
    ReadHistory,
    /// `GET leads/export.csv`, `GET newsletter/export.csv` (admin; staff and superusers
    /// on the staff site, not viewers).
    ExportCsv,
}

impl Operation {
    /// The throttle scope this operation counts against besides `general` (or `admin`
    /// for the admin key), if any.
    pub fn extra_scope(self) -> Option<ThrottleScope> {
        match self {
            Self::CreateLead => Some(ThrottleScope::LeadCreate),
            Self::Subscribe | Self::Unsubscribe => Some(ThrottleScope::Subscribe),
            _ => None,
        }
    }

    /// Whether the operation counts against `general` / `admin` at all.
    pub fn is_throttled(self) -> bool {
        self != Self::ReadMetrics
    }
}

impl Scope {
    /// Whether this scope may call `operation`.
    pub fn allows(self, operation: Operation) -> bool {
        match self {
            Self::Admin => true,
            Self::Public => matches!(
                operation,
                Operation::CreateLead
                    | Operation::IssueFormToken
                    | Operation::Subscribe
                    | Operation::Unsubscribe
                    | Operation::ConfirmSubscription
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_scope_may_only_write_forms() {
        assert!(Scope::Public.allows(Operation::CreateLead));
        assert!(!Scope::Public.allows(Operation::ListLeads));
        assert!(!Scope::Public.allows(Operation::GetSubscriber));
        assert!(Scope::Admin.allows(Operation::DeleteLead));
    }
}
