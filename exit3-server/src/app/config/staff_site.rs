//! The staff site's settings (admin.md).

use std::time::Duration;

use super::reader::Reader;

/// `SESSION_COOKIE_AGE`.
#[derive(Debug, Clone, Copy)]
pub struct StaffSiteSettings {
    /// How long a staff session lasts without a request (Django's name; default 12 h).
    pub session_age: Duration,
}

pub(super) fn read(r: &mut Reader<'_>) -> StaffSiteSettings {
    StaffSiteSettings {
        session_age: r.duration("SESSION_COOKIE_AGE", Duration::from_secs(60)),
    }
}
