//! A quarantine (capture.md §1) as the two columns leads and subscribers keep it in:
//! `quarantine_reasons text[]` and `quarantined_at timestamptz`, both NULL for an
//! accepted row.

use exit3_core::{
    StoreError, Timestamp,
    spam::{Quarantine, SpamReason},
};

use crate::error::corrupt;

/// A quarantine as two columns.
pub(crate) fn quarantine_of(
    reasons: Option<Vec<String>>,
    at: Option<Timestamp>,
) -> Result<Option<Quarantine>, StoreError> {
    let (Some(reasons), Some(at)) = (reasons, at) else {
        return Ok(None);
    };
    let reasons = reasons
        .iter()
        .map(|r| SpamReason::parse(r).ok_or_else(|| corrupt("quarantine reason", r)))
        .collect::<Result<_, _>>()?;
    Ok(Some(Quarantine { reasons, at }))
}

/// A quarantine's reasons as their column holds them.
pub(crate) fn reasons_column(quarantine: Option<&Quarantine>) -> Option<Vec<&'static str>> {
    quarantine.map(|q| q.reasons.iter().map(|r| r.as_str()).collect())
}
