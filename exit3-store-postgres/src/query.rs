//! The core's list rules as SQL: search patterns, orderings, paging.

use exit3_core::{Ordering, Page, PageRequest, Search, SortField, store::StoreResult};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row, postgres::PgRow};

use crate::error::from_sqlx;

/// The column under which a page query carries the count of all matches.
pub(crate) const TOTAL: &str = "exit3_total";

/// Reads one page with `page_query`, whose rows carry the count of all matches in the
/// column [`TOTAL`] (a scalar subquery: page and count come from one statement, so from
/// one snapshot, in one round trip), and turns the rows into the core's type. An empty
/// page past the first has no row to carry the count; `count_query` then tells it (the
/// page is past the end whatever the count says, so a write between the two statements
/// changes nothing that matters).
pub(crate) async fn fetch_page<R, T>(
    pool: &PgPool,
    mut page_query: QueryBuilder<'_, Postgres>,
    mut count_query: QueryBuilder<'_, Postgres>,
    page: PageRequest,
) -> StoreResult<Page<T>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = exit3_core::StoreError>,
{
    let rows: Vec<PgRow> = page_query
        .build()
        .fetch_all(pool)
        .await
        .map_err(from_sqlx)?;
    let count = match rows.first() {
        Some(row) => row.try_get::<i64, _>(TOTAL).map_err(from_sqlx)?,
        None if page.offset() == 0 => 0,
        None => {
            count_query
                .build_query_as::<(i64,)>()
                .fetch_one(pool)
                .await
                .map_err(from_sqlx)?
                .0
        }
    };
    let items = rows
        .iter()
        .map(|row| T::try_from(R::from_row(row).map_err(from_sqlx)?))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page {
        items,
        count: u64::try_from(count).unwrap_or(0),
        request: page,
    })
}

/// The collation whose `lower()` is Unicode's full lower-case mapping, as Rust's
/// `str::to_lowercase`.
pub(crate) const LOWER_COLLATION: &str = "\"und-x-icu\"";

/// The `LIKE` pattern for a search: the (already lower-case) needle with `\`, `%` and
/// `_` escaped, between `%`s.
pub(crate) fn like_pattern(search: &Search) -> String {
    let mut pattern = String::with_capacity(search.as_str().len() + 2);
    pattern.push('%');
    for c in search.as_str().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Appends `(lower(col₁) LIKE p OR lower(col₂) LIKE p …)` for `columns`; a `NULL` column
/// matches nothing, as in the core.
pub(crate) fn push_search(qb: &mut QueryBuilder<'_, Postgres>, columns: &[&str], search: &Search) {
    let pattern = like_pattern(search);
    qb.push("(");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push(format_args!(
            "lower({column} COLLATE {LOWER_COLLATION}) LIKE "
        ));
        qb.push_bind(pattern.clone());
        qb.push(" ESCAPE '\\'");
    }
    qb.push(")");
}

/// Appends ` ORDER BY …` for `ordering`, with ties broken by id in the same direction.
/// Names sort by code point (`COLLATE "C"`); a `NULL` name sorts after every name
/// ascending and before every name descending, PostgreSQL's default and the core's
/// rule.
pub(crate) fn push_order(qb: &mut QueryBuilder<'_, Postgres>, table: &str, ordering: Ordering) {
    let dir = if ordering.descending { "DESC" } else { "ASC" };
    let field = match ordering.field {
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::FullName => "full_name COLLATE \"C\"",
        SortField::Status => "status COLLATE \"C\"",
    };
    qb.push(format_args!(
        " ORDER BY {table}.{field} {dir}, {table}.id {dir}"
    ));
}

/// A row's value of the ordering's field, for a keyset condition.
pub(crate) enum SortValue {
    /// A time.
    Time(exit3_core::Timestamp),
    /// A text, compared by code point (`COLLATE "C"`); `None`: a missing name (only a
    /// subscriber's), which sorts after every name.
    Text(Option<String>),
}

/// Appends ` AND` the keyset condition "after (`value`, `id`)" in `ordering` (ties by
/// id in the same direction), on `{table}.{field}` — the rows that
/// `Ordering::compare_*` puts after that one — as a row comparison the sort index
/// answers. A missing text sorts last ascending (PostgreSQL's `NULLS LAST`) and first
/// descending, as the reference order has it; after a name, ascending, the rows without
/// one are not included (an `OR … IS NULL` would keep the index from bounding the scan,
/// making every batch read from the start): the caller reads them when the names run
/// out ([`NULL_TAIL`]).
pub(crate) fn push_after(
    qb: &mut QueryBuilder<'_, Postgres>,
    table: &str,
    ordering: Ordering,
    value: SortValue,
    id: i64,
) {
    let op = if ordering.descending { "<" } else { ">" };
    let column = match ordering.field {
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::FullName => "full_name",
        SortField::Status => "status",
    };
    let col = format!("{table}.{column}");
    let id_col = format!("{table}.id");
    match value {
        SortValue::Time(t) => {
            qb.push(format_args!(" AND ({col}, {id_col}) {op} ("));
            qb.push_bind(t).push(", ").push_bind(id).push(")");
        }
        SortValue::Text(Some(text)) => {
            qb.push(format_args!(" AND ({col} COLLATE \"C\", {id_col}) {op} ("));
            qb.push_bind(text)
                .push("::text COLLATE \"C\", ")
                .push_bind(id)
                .push(")");
        }
        SortValue::Text(None) if ordering.descending => {
            // Missing names came first: every name is after them, then later ids.
            qb.push(format_args!(" AND ({col} IS NOT NULL OR {id_col} {op} "));
            qb.push_bind(id).push(")");
        }
        SortValue::Text(None) => {
            qb.push(format_args!(" AND {col} IS NULL AND {id_col} {op} "));
            qb.push_bind(id);
        }
    }
}

/// What follows the names, ascending, in a nullable text column: the rows without one
/// (`{table}` as `s`), read separately by the keyset's caller.
pub(crate) const NULL_TAIL: &str = " AND s.full_name IS NULL";

/// Appends ` LIMIT n` for `page`, and ` OFFSET …` past the first page.
///
/// The page size is written into the statement, not bound, and the first page has no
/// offset at all: a list whose filter binds nothing else (the usual one, by status or
/// unfiltered, first page) is then a statement without parameters, which PostgreSQL
/// plans once per connection and keeps. With parameters it made a custom plan at every
/// execution, and planning took as long as running the page (0.13–0.16 ms of about
/// 0.3 ms, `pg_stat_statements`, 100,000 leads). A page size is one of at most
/// [`MAX_PAGE_SIZE`](exit3_core::query::MAX_PAGE_SIZE) integers, so the distinct
/// statements stay few; the offset of later pages stays a parameter, so that deep pages
/// do not each prepare a statement of their own.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Postgres>, page: PageRequest) {
    qb.push(format_args!(" LIMIT {}", page.page_size()));
    let offset = page.offset();
    if offset > 0 {
        qb.push(" OFFSET ");
        qb.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    }
}

/// Appends `choice`, a status of a list's filter, written into the statement as an SQL
/// string literal rather than bound, so that PostgreSQL plans each status with its own
/// selectivity and can keep the plan (see [`push_page`]). Only a plain identifier
/// (`[a-z_]`, nothing to quote) is written in — every choice the lists filter by is one
/// (the test `choice_literals_are_plain_identifiers`); anything else is bound.
pub(crate) fn push_choice(qb: &mut QueryBuilder<'_, Postgres>, choice: &'static str) {
    if is_plain_identifier(choice) {
        qb.push(format_args!("'{choice}'"));
    } else {
        qb.push_bind(choice);
    }
}

/// Whether `name` is non-empty and only `[a-z_]`: nothing to quote in a literal.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_literals_are_plain_identifiers() {
        use exit3_core::{LeadStatus, SubscriberStatus};
        let names = LeadStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .chain(SubscriberStatus::ALL.iter().map(|s| s.as_str()));
        for name in names {
            assert!(is_plain_identifier(name), "{name:?}");
        }
        assert!(!is_plain_identifier("new'; --"));
        assert!(!is_plain_identifier(""));
    }

    #[test]
    fn the_first_page_binds_nothing_and_later_pages_their_offset() {
        let sql = |page| {
            let mut qb = QueryBuilder::<Postgres>::new("SELECT 1");
            push_page(&mut qb, PageRequest::new(page, 50).expect("page"));
            qb.into_sql()
        };
        assert_eq!(sql(1), "SELECT 1 LIMIT 50");
        assert_eq!(sql(3), "SELECT 1 LIMIT 50 OFFSET $1");
    }

    #[test]
    fn a_choice_that_needs_quoting_is_bound() {
        let sql = |choice| {
            let mut qb = QueryBuilder::<Postgres>::new("SELECT ");
            push_choice(&mut qb, choice);
            qb.into_sql()
        };
        assert_eq!(sql("new"), "SELECT 'new'");
        assert_eq!(sql("it's"), "SELECT $1");
    }

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape() {
        let s = Search::new("A_b%c\\d").unwrap_or_else(|| panic!("non-empty"));
        assert_eq!(like_pattern(&s), "%a\\_b\\%c\\\\d%");
    }
}
