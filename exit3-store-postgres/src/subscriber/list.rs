//! A subscriber list as SQL: the filter's `WHERE`, the page with its count, and an
//! export's batches by keyset.

use exit3_core::{
    Ordering, Page, PageRequest, QuarantineFilter, SortField, StoreResult, Subscriber,
    SubscriberFilter,
};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{COLUMNS, SubscriberRow};
use crate::{
    error::from_sqlx,
    query::{
        NULL_TAIL, SortValue, TOTAL, fetch_page, push_after, push_choice, push_order, push_page,
        push_search,
    },
};

/// A page of the list with its count, in one statement.
pub(super) async fn page(
    pool: &PgPool,
    filter: &SubscriberFilter,
    ordering: Ordering,
    page: PageRequest,
) -> StoreResult<Page<Subscriber>> {
    let mut page_query = QueryBuilder::new(format!(
        "SELECT {COLUMNS}, (SELECT count(*) FROM newsletter_subscribers s"
    ));
    push_filter(&mut page_query, filter);
    page_query.push(format_args!(") AS {TOTAL} FROM newsletter_subscribers s"));
    push_filter(&mut page_query, filter);
    push_order(&mut page_query, "s", ordering);
    push_page(&mut page_query, page);
    let mut count_query = QueryBuilder::new("SELECT count(*) FROM newsletter_subscribers s");
    push_filter(&mut count_query, filter);
    fetch_page::<SubscriberRow, Subscriber>(pool, page_query, count_query, page).await
}

/// An export's batch: at most `limit` matches after `after` in `ordering`.
pub(super) async fn after(
    pool: &PgPool,
    filter: &SubscriberFilter,
    ordering: Ordering,
    after: Option<&Subscriber>,
    limit: u32,
) -> StoreResult<Vec<Subscriber>> {
    let read = |mut qb: QueryBuilder<'static, Postgres>| async move {
        let rows: Vec<SubscriberRow> = qb
            .build_query_as()
            .fetch_all(pool)
            .await
            .map_err(from_sqlx)?;
        rows.into_iter()
            .map(Subscriber::try_from)
            .collect::<StoreResult<Vec<_>>>()
    };
    let mut got = read(after_query(filter, ordering, after, false, limit)).await?;
    // Ascending by name, after a name: the nameless come last, read when the names
    // run out.
    let after_a_name = after.is_some_and(|a| a.full_name.is_some());
    if ordering.field == SortField::FullName
        && !ordering.descending
        && after_a_name
        && got.len() < limit as usize
    {
        let rest = limit - got.len() as u32;
        got.extend(read(after_query(filter, ordering, after, true, rest)).await?);
    }
    Ok(got)
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, filter: &SubscriberFilter) {
    qb.push(match filter.quarantined {
        QuarantineFilter::Exclude => " WHERE s.quarantined_at IS NULL",
        QuarantineFilter::Only => " WHERE s.quarantined_at IS NOT NULL",
        QuarantineFilter::All => " WHERE TRUE",
    });
    if let Some(status) = filter.status {
        qb.push(" AND s.status = ");
        push_choice(qb, status.as_str());
    }
    if let Some(source) = &filter.source {
        qb.push(" AND s.source = ").push_bind(source.clone());
    }
    if let Some(search) = &filter.search {
        qb.push(" AND ");
        push_search(qb, &["s.email", "s.full_name"], search);
    }
}

/// An export's batch of a subscriber list: the matches after `after` (or, with `tail`,
/// the nameless ones that come after every name), at most `limit`.
fn after_query(
    filter: &SubscriberFilter,
    ordering: Ordering,
    after: Option<&Subscriber>,
    tail: bool,
    limit: u32,
) -> QueryBuilder<'static, Postgres> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM newsletter_subscribers s"));
    push_filter(&mut qb, filter);
    if tail {
        qb.push(NULL_TAIL);
    } else if let Some(after) = after {
        let value = match ordering.field {
            SortField::CreatedAt => SortValue::Time(after.created_at),
            SortField::UpdatedAt => SortValue::Time(after.updated_at),
            SortField::FullName => SortValue::Text(after.full_name.clone()),
            SortField::Status => SortValue::Text(Some(after.status.as_str().to_owned())),
        };
        push_after(&mut qb, "s", ordering, value, after.id.get());
    }
    push_order(&mut qb, "s", ordering);
    qb.push(" LIMIT ").push_bind(i64::from(limit));
    qb
}
