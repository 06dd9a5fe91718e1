//! What a store call can answer instead of a result: what happened to the data, for the
//! service to turn into what a caller is told.

use std::fmt;

use crate::error::BoxError;

/// The result of every store call. A write answered `Ok` is durable.
///
/// A write answered [`StoreError::Unavailable`] was not acknowledged: usually nothing was
/// written, but when a connection drops while a commit's reply is in flight the write
/// may have been committed all the same — no networked store can tell. Callers never
/// report such a write as done.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a store call did not answer its result. Stores never panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule refused the write; nothing changed.
    #[error("the write conflicts: {what}")]
    Conflict {
        /// Which rule.
        what: Conflict,
    },
    /// The record the call needs does not exist.
    #[error("no such record")]
    NotFound,
    /// The backend could not be reached, or did not answer in time.
    #[error("the store is unavailable")]
    Unavailable {
        /// What went wrong underneath, for logs.
        #[source]
        source: BoxError,
    },
    /// Anything else: a bug, data the store cannot read back, an unexpected answer.
    #[error("the store failed")]
    Other {
        /// What went wrong underneath, for logs.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Wraps a connection-level failure.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }

    /// Wraps an unexpected failure.
    pub fn other(source: impl Into<BoxError>) -> Self {
        Self::Other {
            source: source.into(),
        }
    }

    /// Whether the backend could not be reached (for metrics: `unavailable` or
    /// `internal`).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Conflict {
    /// Another subscriber has the address (compared case-insensitively).
    SubscriberEmail,
    /// Another staff user has the username (compared case-insensitively).
    StaffUsername,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SubscriberEmail => "another subscriber has this address",
            Self::StaffUsername => "another staff user has this username",
        })
    }
}
