//! Retention (privacy.md §2): each step a batch at a time, in one short transaction —
//! the oldest rows the core's rule takes, locked with `SKIP LOCKED` (a row a request
//! holds waits for the next batch), removed or cleared, with their history entries and,
//! for accepted leads, their `lead.deleted` calls.

use exit3_core::{
    HistoryObject, LeadId, Timestamp, events::Event, privacy::RetentionStep, store::StoreResult,
    webhooks,
};
use sqlx::PgConnection;

use crate::{
    PostgresStore,
    error::{TxError, corrupt, retrying},
    history::changes_column,
    outbox::enqueue,
    webhook::listening,
};

/// How often a batch that met a deadlock is tried.
const ATTEMPTS: u32 = 3;

/// The most batches of leads one client-info call walks past its mark.
const WALKS: u32 = 20;

impl PostgresStore {
    /// Applies `step` to up to `batch` rows (see
    /// [`Maintenance::retain`](exit3_core::store::Maintenance::retain)).
    pub(crate) async fn retain_batch(
        &self,
        step: RetentionStep,
        before: Timestamp,
        batch: u32,
        now: Timestamp,
    ) -> StoreResult<u64> {
        retrying(ATTEMPTS, || async {
            let mut tx = self.pool.begin().await?;
            let taken = match step {
                RetentionStep::QuarantinedLeads | RetentionStep::Leads => {
                    remove_leads(&mut tx, step, before, batch, now).await?
                }
                RetentionStep::ClientInfo => clear_client_info(&mut tx, before, batch, now).await?,
                RetentionStep::QuarantinedSubscribers | RetentionStep::PendingSubscribers => {
                    remove_subscribers(&mut tx, step, before, batch, now).await?
                }
                RetentionStep::Deliveries => remove_deliveries(&mut tx, before, batch).await?,
            };
            tx.commit().await?;
            Ok::<_, TxError>(taken)
        })
        .await
    }
}

/// The `deleted` (or `changed`) entries of `step` for `ids` of `kind`, and the earlier
/// entries' values redacted when the step says so.
async fn write_history(
    conn: &mut PgConnection,
    step: RetentionStep,
    kind: &str,
    ids: &[i64],
    now: Timestamp,
) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    if step.redacts_history() {
        sqlx::query(
            "UPDATE history h SET redacted = true, changes = (
                 SELECT jsonb_agg(jsonb_build_object('field', c -> 'field', 'old', NULL,
                                                     'new', NULL) ORDER BY n)
                 FROM jsonb_array_elements(h.changes) WITH ORDINALITY AS t(c, n))
             WHERE h.object_kind = $1 AND h.object_id = ANY ($2) AND h.changes IS NOT NULL",
        )
        .bind(kind)
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    }
    // Every entry of one step is the same but for its object.
    let sample = step.entry(HistoryObject::Person, now);
    sqlx::query(
        "INSERT INTO history (at, actor, action, object_kind, object_id, changes)
         SELECT $1, $2, $3, $4, id, $5::jsonb FROM unnest($6::int8[]) AS t(id)",
    )
    .bind(now)
    .bind(sample.actor.to_string())
    .bind(sample.action.as_str())
    .bind(kind)
    .bind(changes_column(&sample.changes))
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn remove_leads(
    conn: &mut PgConnection,
    step: RetentionStep,
    before: Timestamp,
    batch: u32,
    now: Timestamp,
) -> Result<u64, TxError> {
    // The oldest first, on `leads_quarantined` / `leads_created_at_id`; client info goes
    // with its lead (ON DELETE CASCADE).
    let (condition, order) = match step {
        RetentionStep::QuarantinedLeads => ("quarantined_at < $1", "quarantined_at"),
        _ => ("created_at < $1", "created_at, id"),
    };
    let gone: Vec<(i64, bool)> = sqlx::query_as(&format!(
        "WITH taken AS (
             SELECT id FROM leads WHERE {condition} ORDER BY {order} LIMIT $2
             FOR UPDATE SKIP LOCKED)
         DELETE FROM leads l USING taken WHERE l.id = taken.id
         RETURNING l.id, l.quarantined_at IS NULL"
    ))
    .bind(before)
    .bind(i64::from(batch))
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = gone.iter().map(|(id, _)| *id).collect();
    write_history(conn, step, "lead", &ids, now).await?;
    // An accepted lead's going is announced as a deletion's is; a quarantined one was
    // never announced.
    let accepted: Vec<i64> = gone.iter().filter(|(_, a)| *a).map(|(id, _)| *id).collect();
    if !accepted.is_empty() {
        let endpoints = listening(conn, exit3_core::events::EventType::LeadDeleted).await?;
        if !endpoints.is_empty() {
            for id in accepted {
                let id = LeadId::new(id).ok_or_else(|| corrupt("lead id", id))?;
                let event = Event::lead_deleted(id, now);
                for message in webhooks::fan_out(&event, &endpoints) {
                    enqueue(conn, &message, None, now).await?;
                }
            }
        }
    }
    Ok(ids.len() as u64)
}

async fn clear_client_info(
    conn: &mut PgConnection,
    before: Timestamp,
    batch: u32,
    now: Timestamp,
) -> Result<u64, TxError> {
    // The mark's row, locked: one instance runs this step at a time, from where the
    // last run stopped (lead ids grow with their creation time).
    let mark: i64 =
        sqlx::query_scalar("SELECT last_id FROM retention_marks WHERE step = $1 FOR UPDATE")
            .bind(RetentionStep::ClientInfo.as_str())
            .fetch_one(&mut *conn)
            .await?;
    // Walks a batch of leads at a time past the mark, clearing those that hold either
    // field, until a batch is cleared or nothing is left (at most WALKS batches walked in
    // one call: leads whose client info held nothing are walked once, ever).
    let mut cleared: Vec<i64> = Vec::new();
    let mut mark = mark;
    for _ in 0..WALKS {
        let walked: Vec<(i64, bool)> = sqlx::query_as(
            "SELECT l.id, (c.ip_address IS NOT NULL OR c.user_agent IS NOT NULL)
             FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id
             WHERE l.id > $1 AND l.created_at < $2 ORDER BY l.id LIMIT $3",
        )
        .bind(mark)
        .bind(before)
        .bind(i64::from(batch) - cleared.len() as i64)
        .fetch_all(&mut *conn)
        .await?;
        let Some(&(last, _)) = walked.last() else {
            break;
        };
        mark = last;
        cleared.extend(walked.iter().filter(|(_, h)| *h).map(|(id, _)| *id));
        if cleared.len() as u64 >= u64::from(batch) {
            break;
        }
    }
    sqlx::query(
        "UPDATE client_info SET ip_address = NULL, user_agent = NULL WHERE lead_id = ANY ($1)",
    )
    .bind(&cleared)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE retention_marks SET last_id = $2 WHERE step = $1")
        .bind(RetentionStep::ClientInfo.as_str())
        .bind(mark)
        .execute(&mut *conn)
        .await?;
    write_history(conn, RetentionStep::ClientInfo, "lead", &cleared, now).await?;
    Ok(cleared.len() as u64)
}

async fn remove_subscribers(
    conn: &mut PgConnection,
    step: RetentionStep,
    before: Timestamp,
    batch: u32,
    now: Timestamp,
) -> Result<u64, TxError> {
    // Quarantined: on `newsletter_subscribers_quarantined`; pending: on the status index
    // (a month of unconfirmed sign-ups at most). Tokens go with them (ON DELETE CASCADE).
    let (condition, order) = match step {
        RetentionStep::QuarantinedSubscribers => ("quarantined_at < $1", "quarantined_at"),
        _ => ("status = 'pending' AND updated_at < $1", "updated_at, id"),
    };
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "WITH taken AS (
             SELECT id FROM newsletter_subscribers WHERE {condition} ORDER BY {order} LIMIT $2
             FOR UPDATE SKIP LOCKED)
         DELETE FROM newsletter_subscribers s USING taken WHERE s.id = taken.id RETURNING s.id"
    ))
    .bind(before)
    .bind(i64::from(batch))
    .fetch_all(&mut *conn)
    .await?;
    write_history(conn, step, "subscriber", &ids, now).await?;
    Ok(ids.len() as u64)
}

async fn remove_deliveries(
    conn: &mut PgConnection,
    before: Timestamp,
    batch: u32,
) -> Result<u64, TxError> {
    // On `outbox_finished`; a webhook call's delivery row goes with it.
    let (n,): (i64,) = sqlx::query_as(
        "WITH taken AS (
             SELECT id FROM outbox WHERE status <> 'pending' AND updated_at < $1
             ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED),
         gone AS (DELETE FROM outbox o USING taken WHERE o.id = taken.id RETURNING o.id),
         d AS (DELETE FROM webhook_deliveries WHERE outbox_id IN (SELECT id FROM gone))
         SELECT count(*) FROM gone",
    )
    .bind(before)
    .bind(i64::from(batch))
    .fetch_one(&mut *conn)
    .await?;
    Ok(u64::try_from(n).unwrap_or_default())
}
