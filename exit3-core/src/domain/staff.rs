//! Staff users of the staff site (admin.md "Accounts and security"): who they are and
//! what their role lets them do. Passwords are in [`access::password`](crate::access).

use std::{fmt, str::FromStr};

use crate::{
    access::{Operation, PasswordHash},
    clock::Timestamp,
    error::FieldErrors,
    id_type, messages,
    text::{EmailAddress, char_len},
};

id_type!(
    /// A staff user's id.
    StaffId
);

/// The longest username (Django's).
pub const USERNAME_MAX: usize = 150;

/// What a staff user may do. Enforced by the service for every operation, like an API
/// key's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StaffRole {
    /// Read only.
    Viewer,
    /// Leads and subscribers: read, edit, delete, release, export.
    Staff,
    /// Everything, including staff users and webhooks.
    Superuser,
}

impl StaffRole {
    /// Every role, least first.
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Staff, Self::Superuser];

    /// Its name, as stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Staff => "staff",
            Self::Superuser => "superuser",
        }
    }

    /// Whether this role may call `operation`.
    pub fn allows(self, operation: Operation) -> bool {
        use Operation as O;
        match self {
            Self::Superuser => true,
            // One person's export and erasure are the superusers' (admin.md).
            Self::Staff => !matches!(
                operation,
                O::ManageWebhooks | O::ManageStaff | O::ExportPerson | O::ErasePerson
            ),
            Self::Viewer => matches!(
                operation,
                O::ListLeads | O::GetLead | O::ListSubscribers | O::GetSubscriber | O::ReadHistory
            ),
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StaffRole {
    type Err = FieldErrors;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| FieldErrors::single("role", messages::invalid_choice(s)))
    }
}

/// A username: 1–150 letters, digits and `@ . + - _` (Django's rule), kept as given;
/// compared case-insensitively by stores (two users cannot differ only in case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Parses a username (trimmed).
    pub fn parse(raw: &str) -> Result<Self, FieldErrors> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldErrors::single("username", messages::BLANK));
        }
        if char_len(name) > USERNAME_MAX {
            return Err(FieldErrors::single(
                "username",
                messages::too_long(USERNAME_MAX),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
        {
            return Err(FieldErrors::single("username", messages::USERNAME));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form stores compare and throttles count: lower case.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A staff user as stored (without the password hash, which only the login reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    /// Its id.
    pub id: StaffId,
    /// Unique (case-insensitively).
    pub username: Username,
    /// Where to reach them.
    pub email: EmailAddress,
    /// What they may do.
    pub role: StaffRole,
    /// An inactive user cannot sign in; their sessions end.
    pub active: bool,
    /// The last successful sign-in.
    pub last_login: Option<Timestamp>,
    /// When the user was made.
    pub created_at: Timestamp,
}

/// A staff user to create: valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaffUser {
    /// The username.
    pub username: Username,
    /// The address.
    pub email: EmailAddress,
    /// The role.
    pub role: StaffRole,
    /// The password's hash.
    pub password: PasswordHash,
}

/// A change to a staff user: only the given fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffPatch {
    /// A new address.
    pub email: Option<EmailAddress>,
    /// A new role.
    pub role: Option<StaffRole>,
    /// Active or not; deactivating ends the user's sessions.
    pub active: Option<bool>,
    /// A new password; setting one ends the user's sessions.
    pub password: Option<PasswordHash>,
}

impl StaffPatch {
    /// Whether the change must end the user's sessions (deactivation, a new password,
    /// a lower role takes effect at once anyway).
    pub fn ends_sessions(&self) -> bool {
        self.active == Some(false) || self.password.is_some()
    }

    /// The user with the patch applied (not the password, which the user does not show).
    pub fn apply(&self, user: &StaffUser) -> StaffUser {
        let mut user = user.clone();
        if let Some(email) = &self.email {
            user.email = email.clone();
        }
        if let Some(role) = self.role {
            user.role = role;
        }
        if let Some(active) = self.active {
            user.active = active;
        }
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_djangos_rule() {
        assert_eq!(
            Username::parse(" ada.l+x@e_1-2 ").map(|u| u.to_string()),
            Ok("ada.l+x@e_1-2".to_owned())
        );
        assert!(Username::parse("Zoë").is_ok());
        for bad in ["", "   ", "a b", "<b>", "a/b", &"x".repeat(151)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Username::parse("AdA").map(|u| u.folded()), Ok("ada".into()));
    }

    #[test]
    fn roles_nest_and_parse() {
        use Operation as O;
        for op in [O::ListLeads, O::GetLead, O::ReadHistory] {
            assert!(StaffRole::ALL.iter().all(|r| r.allows(op)), "{op:?}");
        }
        for op in [O::UpdateLead, O::DeleteLead, O::ReleaseLead, O::ExportCsv] {
            assert!(!StaffRole::Viewer.allows(op));
            assert!(StaffRole::Staff.allows(op));
        }
        for op in [
            O::ManageWebhooks,
            O::ManageStaff,
            O::ExportPerson,
            O::ErasePerson,
        ] {
            assert!(!StaffRole::Staff.allows(op));
            assert!(StaffRole::Superuser.allows(op));
        }
        for role in StaffRole::ALL {
            assert_eq!(role.as_str().parse::<StaffRole>().ok(), Some(role));
        }
        assert!("root".parse::<StaffRole>().is_err());
    }
}
