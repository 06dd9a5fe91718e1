//! What the service tells an [`Observer`] — metrics, usually — about the requests it
//! refuses (so that every frontend's refusals are counted the same way, once), the
//! deliveries it attempts, and what maintenance removes.

use std::fmt::Debug;

use crate::{error::Denial, outbox::OutboxKind, throttle::ThrottleScope};

/// Why the service refused a request before doing anything with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// Authentication or authorisation refused it (403).
    Denied(Denial),
    /// A throttle scope refused it (429).
    Throttled(ThrottleScope),
}

impl Refusal {
    /// A short, fixed name for labels: `no_credentials`, `invalid_key`,
    /// `permission_denied`, or the refusing scope's name.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Denied(Denial::NoCredentials) => "no_credentials",
            Self::Denied(Denial::InvalidKey) => "invalid_key",
            Self::Denied(Denial::PermissionDenied) => "permission_denied",
            Self::Throttled(scope) => scope.as_str(),
        }
    }
}

/// Receives the service's refusals and the delivery worker's attempts. Called on the
/// request's (or the worker's) path: keep it cheap and never block.
pub trait Observer: Send + Sync + Debug + 'static {
    /// A request was refused.
    fn refused(&self, refusal: Refusal);

    /// A delivery attempt of a `kind` message ended as `outcome` (`delivered`,
    /// `skipped`, `retried`, `failed`).
    fn delivered(&self, kind: OutboxKind, outcome: &'static str) {
        let _ = (kind, outcome);
    }

    /// The maintenance step removed `count` records of `what` (a fixed name:
    /// [`MaintenanceReport::counts`](crate::MaintenanceReport::counts)).
    fn removed(&self, what: &'static str, count: u64) {
        let _ = (what, count);
    }
}

/// The observer of a service built without one: notices nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn refused(&self, _: Refusal) {}
}
