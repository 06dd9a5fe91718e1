//! The change history: each entry inserted in the transaction (or the statement) of the
//! write it records. Field changes are kept as a JSON array, `NULL` when there are none.

use async_trait::async_trait;
use exit3_core::{
    Page, PageRequest, StoreError, Timestamp,
    domain::{
        Actor, FieldChange, HistoryAction, HistoryEntry, HistoryFilter, HistoryId, HistoryObject,
        NewHistoryEntry,
    },
    store::{HistoryStore, StoreResult},
};
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::{
    PostgresStore,
    error::corrupt,
    query::{TOTAL, fetch_page, push_page},
};

/// The columns a history query reads, from `history h`.
pub(crate) const HISTORY_COLUMNS: &str = "h.id, h.at, h.actor, h.action, h.object_kind, h.object_id, h.changes::text AS changes, \
     h.redacted";

#[derive(Debug, FromRow)]
pub(crate) struct HistoryRow {
    id: i64,
    at: Timestamp,
    actor: String,
    action: String,
    object_kind: String,
    object_id: Option<i64>,
    changes: Option<String>,
    redacted: bool,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = StoreError;

    fn try_from(r: HistoryRow) -> Result<Self, Self::Error> {
        let changes = match &r.changes {
            None => Vec::new(),
            Some(text) => parse_changes(text).ok_or_else(|| corrupt("history change", text))?,
        };
        Ok(Self {
            id: HistoryId::new(r.id).ok_or_else(|| corrupt("history id", r.id))?,
            at: r.at,
            actor: Actor::parse(&r.actor).ok_or_else(|| corrupt("actor", &r.actor))?,
            action: HistoryAction::parse(&r.action)
                .ok_or_else(|| corrupt("history action", &r.action))?,
            object: HistoryObject::from_parts(&r.object_kind, r.object_id)
                .ok_or_else(|| corrupt("history object", &r.object_kind))?,
            changes,
            redacted: r.redacted,
        })
    }
}

fn parse_changes(text: &str) -> Option<Vec<FieldChange>> {
    let value: Value = serde_json::from_str(text).ok()?;
    let value_of = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    };
    value
        .as_array()?
        .iter()
        .map(|c| {
            Some(FieldChange {
                field: c.get("field")?.as_str()?.to_owned(),
                old: value_of(c.get("old"))?,
                new: value_of(c.get("new"))?,
            })
        })
        .collect()
}

/// The `changes` column of `changes`: a JSON array, or `None` for none.
pub(crate) fn changes_column(changes: &[FieldChange]) -> Option<String> {
    (!changes.is_empty()).then(|| {
        Value::from(
            changes
                .iter()
                .map(|c| json!({"field": c.field, "old": c.old, "new": c.new}))
                .collect::<Vec<_>>(),
        )
        .to_string()
    })
}

/// Inserts `entry` (none: the write changed nothing worth one).
pub(crate) async fn record(
    conn: &mut PgConnection,
    entry: Option<NewHistoryEntry>,
) -> sqlx::Result<()> {
    match entry {
        Some(entry) => record_all(conn, &[entry]).await,
        None => Ok(()),
    }
}

/// Inserts several entries in one statement, in the given order.
pub(crate) async fn record_all(
    conn: &mut PgConnection,
    entries: &[NewHistoryEntry],
) -> sqlx::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let at: Vec<_> = entries.iter().map(|e| e.at).collect();
    let actor: Vec<String> = entries.iter().map(|e| e.actor.to_string()).collect();
    let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let kind: Vec<&str> = entries.iter().map(|e| e.object.kind()).collect();
    let id: Vec<Option<i64>> = entries.iter().map(|e| e.object.id()).collect();
    let changes: Vec<Option<String>> = entries.iter().map(|e| changes_column(&e.changes)).collect();
    sqlx::query(
        "INSERT INTO history (at, actor, action, object_kind, object_id, changes) \
         SELECT at, actor, action, kind, id, changes::jsonb \
         FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int8[], \
                     $6::text[]) WITH ORDINALITY AS u(at, actor, action, kind, id, changes, ord) \
         ORDER BY ord",
    )
    .bind(&at)
    .bind(&actor)
    .bind(&action)
    .bind(&kind)
    .bind(&id)
    .bind(&changes)
    .execute(conn)
    .await?;
    Ok(())
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, filter: &HistoryFilter) {
    qb.push(" WHERE TRUE");
    if let Some(actor) = &filter.actor {
        qb.push(" AND h.actor = ").push_bind(actor.to_string());
        if *actor != Actor::Public {
            // Lets the planner use `history_actor`, which leaves the public API's
            // entries out (most of them, and looked for newest first anyway).
            qb.push(" AND h.actor <> 'api:public'");
        }
    }
    if let Some(object) = filter.object {
        qb.push(" AND h.object_kind = ").push_bind(object.kind());
        match object.id() {
            Some(id) => qb.push(" AND h.object_id = ").push_bind(id),
            None => qb.push(" AND h.object_id IS NULL"),
        };
    }
}

#[async_trait]
impl HistoryStore for PostgresStore {
    async fn list_history(
        &self,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        let mut page_query = QueryBuilder::new(format!(
            "SELECT {HISTORY_COLUMNS}, (SELECT count(*) FROM history h"
        ));
        push_filter(&mut page_query, filter);
        page_query.push(format_args!(") AS {TOTAL} FROM history h"));
        push_filter(&mut page_query, filter);
        page_query.push(" ORDER BY h.id DESC");
        push_page(&mut page_query, page);
        let mut count_query = QueryBuilder::new("SELECT count(*) FROM history h");
        push_filter(&mut count_query, filter);
        fetch_page::<HistoryRow, HistoryEntry>(&self.pool, page_query, count_query, page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_back_what_they_write() {
        let changes = vec![
            FieldChange {
                field: "status".into(),
                old: Some("new".into()),
                new: Some("lost \"for now\"\n".into()),
            },
            FieldChange {
                field: "company_name".into(),
                old: None,
                new: Some("Ünïcödé".into()),
            },
        ];
        let column = changes_column(&changes).expect("some");
        assert_eq!(parse_changes(&column), Some(changes));
        assert_eq!(changes_column(&[]), None);
        assert_eq!(parse_changes("{}"), None);
        assert_eq!(parse_changes(r#"[{"field": 1}]"#), None);
    }
}
