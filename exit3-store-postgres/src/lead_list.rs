//! A lead list as SQL: the filter's `WHERE`, the page with its count, the count alone
//! (from the trigger-kept counts where it can), and their plans for the index checks.

use exit3_core::{
    Lead, LeadFilter, LeadStatus, Ordering, PageRequest, QuarantineFilter, SortField, StoreResult,
};
use sqlx::{Postgres, QueryBuilder};

use crate::{
    PostgresStore,
    error::from_sqlx,
    lead::LEAD_COLUMNS,
    query::{SortValue, TOTAL, push_after, push_choice, push_order, push_page, push_search},
};

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, filter: &LeadFilter) {
    push_where(qb, filter, filter.quarantined);
}

/// The `WHERE` of `filter`, with `quarantined` for its quarantine condition.
fn push_where(
    qb: &mut QueryBuilder<'_, Postgres>,
    filter: &LeadFilter,
    quarantined: QuarantineFilter,
) {
    qb.push(match quarantined {
        QuarantineFilter::Exclude => " WHERE l.quarantined_at IS NULL",
        QuarantineFilter::Only => " WHERE l.quarantined_at IS NOT NULL",
        QuarantineFilter::All => " WHERE TRUE",
    });
    if let Some(status) = filter.status {
        qb.push(" AND l.status = ");
        push_choice(qb, status.as_str());
    }
    if let Some(source) = &filter.source {
        qb.push(" AND l.source = ").push_bind(source.clone());
    }
    if let Some(category) = &filter.category {
        qb.push(" AND l.category = ").push_bind(category.clone());
    }
    if let Some(after) = filter.created_after {
        qb.push(" AND l.created_at >= ").push_bind(after);
    }
    if let Some(before) = filter.created_before {
        qb.push(" AND l.created_at < ").push_bind(before);
    }
    if let Some(search) = &filter.search {
        // The joined fields find the candidates through `leads_search_trgm`; each
        // field is then checked on its own.
        qb.push(" AND ");
        push_search(qb, &[SEARCH_TEXT], search);
        qb.push(" AND ");
        push_search(
            qb,
            &["l.full_name", "l.position", "l.company_name", "l.email"],
            search,
        );
    }
}

/// The searchable fields joined by U+001F: the expression of the trigram index
/// `leads_search_trgm` (migration 20261207000500), which the search must repeat exactly
/// for the index to serve it.
const SEARCH_TEXT: &str = "(l.full_name || chr(31) || l.position || chr(31) || \
                           coalesce(l.company_name, '') || chr(31) || coalesce(l.email, ''))";

/// The page query of a lead list, after `prefix` (`EXPLAIN …` or nothing), each row
/// with the count of all matches in [`TOTAL`].
pub(crate) fn page_query(
    prefix: &str,
    filter: &LeadFilter,
    ordering: Ordering,
    page: PageRequest,
) -> QueryBuilder<'static, Postgres> {
    let mut qb = QueryBuilder::new(format!("{prefix}SELECT {LEAD_COLUMNS}, ("));
    push_count(&mut qb, filter);
    qb.push(format_args!(
        ") AS {TOTAL} FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id"
    ));
    push_filter(&mut qb, filter);
    push_order(&mut qb, "l", ordering);
    push_page(&mut qb, page);
    qb
}

/// An export's batch of a lead list, after `prefix` (`EXPLAIN …` or nothing): the
/// matches after `after`, at most `limit`.
pub(crate) fn after_query(
    prefix: &str,
    filter: &LeadFilter,
    ordering: Ordering,
    after: Option<&Lead>,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let mut qb = QueryBuilder::new(format!(
        "{prefix}SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id"
    ));
    push_filter(&mut qb, filter);
    if let Some(after) = after {
        let value = match ordering.field {
            SortField::CreatedAt => SortValue::Time(after.created_at),
            SortField::UpdatedAt => SortValue::Time(after.updated_at),
            SortField::FullName => SortValue::Text(Some(after.full_name.clone())),
            SortField::Status => SortValue::Text(Some(after.status.as_str().to_owned())),
        };
        push_after(&mut qb, "l", ordering, value, after.id.get());
    }
    push_order(&mut qb, "l", ordering);
    qb.push(" LIMIT ").push_bind(i64::from(limit));
    qb
}

/// The count query of a lead list, after `prefix`.
pub(crate) fn count_query(prefix: &str, filter: &LeadFilter) -> QueryBuilder<'static, Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    push_count(&mut qb, filter);
    qb
}

/// Appends a query for the count of the leads `filter` matches: the sum of the
/// trigger-kept `lead_status_counts` (accepted leads) when it filters by status alone or
/// not at all (a few rows, whatever the number of leads), plus the quarantined ones
/// through their partial index when those are shown too; `count(*)` over the matching
/// leads otherwise.
fn push_count(qb: &mut QueryBuilder<'_, Postgres>, filter: &LeadFilter) {
    let kept = |qb: &mut QueryBuilder<'_, Postgres>, status: Option<LeadStatus>| {
        qb.push("SELECT coalesce(sum(n), 0)::int8 FROM lead_status_counts");
        if let Some(status) = status {
            qb.push(" WHERE status = ");
            push_choice(qb, status.as_str());
        }
    };
    match filter.status_and_quarantine() {
        Some((status, QuarantineFilter::Exclude)) => kept(qb, status),
        Some((status, QuarantineFilter::All)) => {
            qb.push("SELECT (");
            kept(qb, status);
            qb.push(") + (SELECT count(*) FROM leads l");
            push_where(qb, filter, QuarantineFilter::Only);
            qb.push(")");
        }
        // The accepted leads are all matches less the quarantined ones: the first count
        // stays on the filter's own indexes (index-only where they allow), the second
        // reads the few quarantined rows through their partial index.
        None if filter.quarantined == QuarantineFilter::Exclude => {
            qb.push("SELECT (SELECT count(*) FROM leads l");
            push_where(qb, filter, QuarantineFilter::All);
            qb.push(") - (SELECT count(*) FROM leads l");
            push_where(qb, filter, QuarantineFilter::Only);
            qb.push(")");
        }
        _ => {
            qb.push("SELECT count(*) FROM leads l");
            push_filter(qb, filter);
        }
    }
}

impl PostgresStore {
    /// PostgreSQL's plan (`EXPLAIN`, text, one line per row) of an export's batch after
    /// `after`: for checking that every ordering reads its batch off an index, bounded
    /// by the keyset, wherever the batch lies in the list.
    pub async fn explain_export_batch(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        after: Option<&Lead>,
    ) -> StoreResult<String> {
        let rows: Vec<(String,)> = after_query("EXPLAIN ", filter, ordering, after, 1000)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok(rows
            .into_iter()
            .map(|(l,)| l)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// PostgreSQL's plans (`EXPLAIN`, not executed; text format, one line per row) of the
    /// two queries that [`LeadStore::list_leads`](exit3_core::store::LeadStore::list_leads) sends for this list: the page with the
    /// count, then the count alone (sent only for an empty page past the first). For checking that
    /// the indexes serve the lists on real data.
    pub async fn explain_list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<(String, String)> {
        const EXPLAIN: &str = "EXPLAIN ";
        let lines = |rows: Vec<(String,)>| {
            rows.into_iter()
                .map(|(line,)| line)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let page_plan: Vec<(String,)> = page_query(EXPLAIN, filter, ordering, page)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        let count_plan: Vec<(String,)> = count_query(EXPLAIN, filter)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        Ok((lines(page_plan), lines(count_plan)))
    }
}

#[cfg(test)]
mod tests {
    use exit3_core::LeadFilter;

    use super::*;

    /// The usual lists (by status or unfiltered, first page) must be statements without
    /// parameters, which PostgreSQL plans once per connection; a parameter in them made
    /// it plan every page anew.
    #[test]
    fn the_usual_first_pages_are_statements_without_parameters() {
        let page = PageRequest::new(1, 50).expect("page");
        for status in LeadStatus::ALL.iter().copied().map(Some).chain([None]) {
            let filter = LeadFilter {
                status,
                ..LeadFilter::default()
            };
            let sql = page_query("", &filter, Ordering::default(), page).into_sql();
            assert!(!sql.contains('$'), "{sql}");
            if let Some(status) = status {
                assert!(
                    sql.contains(&format!("l.status = '{}'", status.as_str())),
                    "{sql}"
                );
            }
        }
        // A search still binds its pattern.
        let searched = LeadFilter {
            search: exit3_core::Search::new("ada"),
            ..LeadFilter::default()
        };
        let sql = page_query("", &searched, Ordering::default(), page).into_sql();
        assert!(sql.contains('$'), "{sql}");
    }
}
