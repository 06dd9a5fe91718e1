//! The core's list rules as SQL: search patterns, orderings, paging.

use exit3_core::{Ordering, Page, PageRequest, Search, SortField, store::StoreResult};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, postgres::PgRow};

use crate::error::from_sqlx;

/// Reads one page with `page_query` and the count of all matches with `count_query`
/// (skipped when the page alone tells it), in one read-only snapshot so that they
/// agree, and turns the rows into the core's type.
pub(crate) async fn fetch_page<R, T>(
    pool: &PgPool,
    mut page_query: QueryBuilder<'_, Postgres>,
    mut count_query: QueryBuilder<'_, Postgres>,
    page: PageRequest,
) -> StoreResult<Page<T>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = exit3_core::Error>,
{
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(from_sqlx)?;
    let rows: Vec<R> = page_query
        .build_query_as()
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    let count = match count_from_page(page, rows.len()) {
        Some(count) => count,
        None => {
            let (n,): (i64,) = count_query
                .build_query_as()
                .fetch_one(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            u64::try_from(n).unwrap_or(0)
        }
    };
    tx.commit().await.map_err(from_sqlx)?;
    let items = rows
        .into_iter()
        .map(T::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page {
        items,
        count,
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

/// Appends ` LIMIT … OFFSET …` for `page`.
pub(crate) fn push_page(qb: &mut QueryBuilder<'_, Postgres>, page: PageRequest) {
    qb.push(" LIMIT ");
    qb.push_bind(i64::from(page.page_size()));
    qb.push(" OFFSET ");
    qb.push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
}

/// Whether the page's rows alone tell the count (so no `count(*)` is needed): a page
/// that is not full and not past the end.
pub(crate) fn count_from_page(page: PageRequest, rows: usize) -> Option<u64> {
    let rows = rows as u64;
    (rows < u64::from(page.page_size()) && (rows > 0 || page.offset() == 0))
        .then(|| page.offset() + rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape() {
        let s = Search::new("A_b%c\\d").unwrap_or_else(|| panic!("non-empty"));
        assert_eq!(like_pattern(&s), "%a\\_b\\%c\\\\d%");
    }

    #[test]
    fn short_pages_count_themselves() {
        let p = |page, size| PageRequest::new(page, size).unwrap_or_default();
        assert_eq!(count_from_page(p(1, 10), 3), Some(3));
        assert_eq!(count_from_page(p(1, 10), 0), Some(0));
        assert_eq!(count_from_page(p(2, 10), 4), Some(14));
        assert_eq!(count_from_page(p(2, 10), 0), None);
        assert_eq!(count_from_page(p(1, 10), 10), None);
    }
}
