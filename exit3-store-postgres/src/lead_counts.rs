//! Counting leads: the per-status counts the triggers on `leads` keep (folded by
//! maintenance), and the per-day counts of the staff dashboard.

use exit3_core::{Timestamp, store::StoreResult};

use crate::{PostgresStore, error::from_sqlx};

impl PostgresStore {
    /// Folds the per-status count rows that the triggers on `leads` add into one row per
    /// status ([`Maintenance::compact_counts`](exit3_core::store::Maintenance) does it
    /// on the server's maintenance task; call it to tidy up at once, after a bulk load
    /// say). The counts are exact either way.
    pub async fn fold_lead_counts(&self) -> StoreResult<()> {
        sqlx::query("SELECT exit3_fold_lead_counts()")
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    /// [`LeadStore::count_leads_by_day`](exit3_core::store::LeadStore::count_leads_by_day).
    pub(crate) async fn leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>> {
        let end = first + std::time::Duration::from_secs(86_400 * u64::from(days));
        // One range scan of the creation index; accepted leads only.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT floor(extract(epoch FROM created_at - $1) / 86400)::int8 AS day, \
                    count(*)::int8 \
             FROM leads WHERE created_at >= $1 AND created_at < $2 \
               AND quarantined_at IS NULL \
             GROUP BY 1",
        )
        .bind(first)
        .bind(end)
        .fetch_all(&self.pool)
        .await
        .map_err(from_sqlx)?;
        let mut counts = vec![0; days as usize];
        for (day, n) in rows {
            if let Some(slot) = usize::try_from(day).ok().and_then(|d| counts.get_mut(d)) {
                *slot = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts)
    }
}
