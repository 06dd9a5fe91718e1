//! Retention (privacy.md §2): how many days each kind of data is kept, or `off`.

use std::time::Duration;

use exit3_core::privacy::{DAY, RetentionPolicy};

use super::reader::Reader;

/// `RETENTION_QUARANTINE_DAYS`, `RETENTION_PENDING_DAYS`, `RETENTION_CLIENT_INFO_DAYS`,
/// `RETENTION_LEAD_DAYS`, `RETENTION_DELIVERIES_DAYS`.
pub(super) fn read(r: &mut Reader<'_>) -> RetentionPolicy {
    let mut days = |name: &str| r.days_or_off(name).map(|d| DAY * d);
    RetentionPolicy {
        quarantine: days("RETENTION_QUARANTINE_DAYS"),
        pending: days("RETENTION_PENDING_DAYS"),
        client_info: days("RETENTION_CLIENT_INFO_DAYS"),
        leads: days("RETENTION_LEAD_DAYS"),
        deliveries: days("RETENTION_DELIVERIES_DAYS"),
    }
}

/// What a policy keeps, for the start-up log.
pub(crate) fn describe(policy: &RetentionPolicy) -> String {
    let show = |d: Option<Duration>| match d {
        Some(d) => format!("{}d", d.as_secs() / DAY.as_secs()),
        None => "off".to_owned(),
    };
    format!(
        "quarantine {}, pending {}, client info {}, leads {}, deliveries {}",
        show(policy.quarantine),
        show(policy.pending),
        show(policy.client_info),
        show(policy.leads),
        show(policy.deliveries)
    )
}
