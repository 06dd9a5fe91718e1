//! The one error type of the service, and the per-field validation errors it carries.

use std::{collections::BTreeMap, fmt, time::Duration};

use crate::{
    messages,
    store::{Conflict, StoreError},
};

/// A boxed error kept as the `source` of [`Error::Unavailable`] and [`Error::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an `Exit3` operation can answer instead of a result.
///
/// The `Display` texts are the `detail` texts of the HTTP contract, so that every frontend
/// shows the same words; frontends pick their status codes by matching the variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more fields failed validation; every failing field is listed.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// The object does not exist (or the caller may not know that it does).
    #[error("Not found.")]
    NotFound,
    /// A page number that is not a positive integer or lies past the last page.
    #[error("Invalid page.")]
    InvalidPage,
    /// The caller is not allowed to do this; the reason says why.
    #[error("{0}")]
    Forbidden(Denial),
    /// A throttle scope refused the request; nothing was recorded in any scope.
    #[error("Request was throttled. Expected available in {} seconds.", retry_after.as_secs())]
    Throttled {
        /// Whole seconds (rounded up) until the request would be accepted.
        retry_after: Duration,
        /// The scope that refused (with the longest wait, when several did).
        scope: crate::throttle::ThrottleScope,
    },
    /// A staff sign-in with an unknown username, an inactive user or a wrong password
    /// (one answer for all three).
    #[error("Please enter a correct username and password.")]
    BadLogin,
    /// The `Idempotency-Key` header breaks its rule (capture.md §2).
    #[error("Invalid Idempotency-Key header.")]
    InvalidIdempotencyKey,
    /// The `Idempotency-Key` was used before with another request.
    #[error("This Idempotency-Key was used with a different request.")]
    IdempotencyMismatch,
    /// The `Idempotency-Key`'s first request is still running.
    #[error("A request with this Idempotency-Key is being processed.")]
    IdempotencyRunning,
    /// The store could not be reached or did not answer in time; nothing was written.
    #[error("Service temporarily unavailable.")]
    Unavailable {
        /// What went wrong underneath, for logs.
        #[source]
        source: BoxError,
    },
    /// A bug or an unexpected failure; the source is for logs only.
    #[error("A server error occurred.")]
    Internal {
        /// What went wrong underneath, for logs.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Wraps a store's connection-level failure.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }

    /// Wraps an unexpected failure.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::Internal {
            source: source.into(),
        }
    }
}

impl From<StoreError> for Error {
    /// What a caller is told when the store says `error`: a conflict is the field error
    /// of the rule it broke, in the contract's words.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict {
                what: Conflict::SubscriberEmail,
            } => FieldErrors::single("email", messages::EMAIL_TAKEN).into(),
            StoreError::Conflict {
                what: Conflict::StaffUsername,
            } => FieldErrors::single("username", messages::USERNAME_TAKEN).into(),
            StoreError::NotFound => Self::NotFound,
            StoreError::Unavailable { source } => Self::Unavailable { source },
            StoreError::Other { source } => Self::Internal { source },
        }
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

/// Why a caller was refused: the three answers of DRF's authentication and permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denial {
    /// No key was presented.
    NoCredentials,
    /// A key was presented but matches no configured key, or the header was malformed.
    InvalidKey,
    /// A valid key whose scope does not cover the operation.
    PermissionDenied,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCredentials => messages::NO_CREDENTIALS,
            Self::InvalidKey => messages::INVALID_KEY,
            Self::PermissionDenied => messages::PERMISSION_DENIED,
        })
    }
}

/// The field name under which errors that belong to no single field are reported.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Field name → messages, in field-name order: the shape the HTTP contract renders as-is.
///
/// A `FieldErrors` value is only ever returned non-empty; callers collect into one and
/// turn it into a result with [`FieldErrors::into_result`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error on one field.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Adds one message to a field.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Moves every error of `other` into `self`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// Whether no field failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages of one field, if it failed.
    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// Every failing field with its messages, in field-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// `Ok(value)` when nothing failed, otherwise `Err(Error::Validation(self))`.
    pub fn into_result<T>(self, value: T) -> Result<T, Error> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(Error::Validation(self))
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detail_is_the_catalogues() {
        use crate::messages as m;
        let unavailable = Error::unavailable("x");
        for (error, text) in [
            (Error::NotFound, m::NOT_FOUND.to_owned()),
            (Error::InvalidPage, m::INVALID_PAGE.to_owned()),
            (unavailable, m::UNAVAILABLE.to_owned()),
            (Error::internal("x"), m::SERVER_ERROR.to_owned()),
            (
                Error::Throttled {
                    retry_after: Duration::from_secs(7),
                    scope: crate::throttle::ThrottleScope::Admin,
                },
                m::throttled(7),
            ),
        ] {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn a_conflict_is_the_field_error_of_its_rule() {
        let e = Error::from(StoreError::Conflict {
            what: Conflict::SubscriberEmail,
        });
        let Error::Validation(fields) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            fields.get("email"),
            Some(&[messages::EMAIL_TAKEN.to_owned()][..])
        );
        assert!(matches!(
            Error::from(StoreError::unavailable("down")),
            Error::Unavailable { .. }
        ));
    }

    #[test]
    fn throttled_text_is_drf_text() {
        let e = Error::Throttled {
            retry_after: Duration::from_secs(36),
            scope: crate::throttle::ThrottleScope::General,
        };
        assert_eq!(
            e.to_string(),
            "Request was throttled. Expected available in 36 seconds."
        );
    }

    #[test]
    fn field_errors_serialise_as_a_map_of_lists() {
        let mut e = FieldErrors::new();
        e.add("full_name", "This field is required.");
        e.add("email", "Enter a valid email address.");
        assert_eq!(
            serde_json::to_string(&e).unwrap_or_default(),
            r#"{"email":["Enter a valid email address."],"full_name":["This field is required."]}"#
        );
    }
}
