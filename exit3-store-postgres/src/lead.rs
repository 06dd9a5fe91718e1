//! Leads and their client info.

use async_trait::async_trait;
use exit3_core::{
    ClientInfo, Lead, LeadFilter, LeadId, LeadPatch, LeadStatus, NewLead, Ordering, Page,
    PageRequest, QuarantineFilter, Timestamp,
    events::{Event, EventType, LeadCreated, LeadEffects},
    outbox::LEAD_NOTIFICATION_TOPIC,
    store::{LeadStore, StoreResult},
};
use sqlx::{FromRow, Postgres, QueryBuilder};

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
    outbox::enqueue,
    quarantine::{quarantine_of, reasons_column},
    query::{TOTAL, fetch_page, push_order, push_page, push_search},
    webhook::{self, announce},
};

/// The columns every lead query reads: the lead `l` and its client info `c`.
pub(crate) const LEAD_COLUMNS: &str = "l.id, l.full_name, l.position, l.company_name, l.email, \
    l.phone, l.message, l.status, l.source, l.category, l.created_at, l.updated_at, \
    l.quarantine_reasons, l.quarantined_at, \
    c.lead_id IS NOT NULL AS has_client_info, host(c.ip_address) AS ip_address, \
    c.user_agent, c.referrer, c.utm_source, c.utm_medium, c.utm_campaign";

#[derive(Debug, FromRow)]
pub(crate) struct LeadRow {
    id: i64,
    full_name: String,
    position: String,
    company_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    message: Option<String>,
    status: String,
    source: String,
    category: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    has_client_info: bool,
    ip_address: Option<String>,
    user_agent: Option<String>,
    referrer: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    quarantine_reasons: Option<Vec<String>>,
    quarantined_at: Option<Timestamp>,
}

impl TryFrom<LeadRow> for Lead {
    type Error = exit3_core::StoreError;

    fn try_from(r: LeadRow) -> Result<Self, Self::Error> {
        let client_info = if r.has_client_info {
            let ip_address = match r.ip_address {
                None => None,
                Some(ip) => Some(ip.parse().map_err(|_| corrupt("IP address", &ip))?),
            };
            Some(ClientInfo {
                ip_address,
                user_agent: r.user_agent,
                referrer: r.referrer,
                utm_source: r.utm_source,
                utm_medium: r.utm_medium,
                utm_campaign: r.utm_campaign,
            })
        } else {
            None
        };
        Ok(Lead {
            id: LeadId::new(r.id).ok_or_else(|| corrupt("lead id", r.id))?,
            status: LeadStatus::parse(&r.status)
                .ok_or_else(|| corrupt("lead status", &r.status))?,
            full_name: r.full_name,
            position: r.position,
            company_name: r.company_name,
            email: r.email,
            phone: r.phone,
            message: r.message,
            source: r.source,
            category: r.category,
            client_info,
            created_at: r.created_at,
            updated_at: r.updated_at,
            quarantine: quarantine_of(r.quarantine_reasons, r.quarantined_at)?,
        })
    }
}

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
        qb.push(" AND l.status = ").push_bind(status.as_str());
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
        qb.push(" AND ");
        push_search(
            qb,
            &["l.full_name", "l.position", "l.company_name", "l.email"],
            search,
        );
    }
}

/// The page query of a lead list, after `prefix` (`EXPLAIN …` or nothing), each row
/// with the count of all matches in [`TOTAL`].
fn page_query(
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

/// The count query of a lead list, after `prefix`.
fn count_query(prefix: &str, filter: &LeadFilter) -> QueryBuilder<'static, Postgres> {
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
            qb.push(" WHERE status = ").push_bind(status.as_str());
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

#[async_trait]
impl LeadStore for PostgresStore {
    async fn insert_lead(
        &self,
        lead: &NewLead,
        effects: &LeadEffects,
        now: Timestamp,
    ) -> StoreResult<Lead> {
        let info = lead.client_info();
        // Nobody to tell (silent, no staff address, no endpoint listening as far as this
        // store knows): the lead and its client info alone.
        let created = effects
            .heard(!self.checks.recorded.no_lead_listeners())
            .then(|| LeadCreated::new(lead, now, effects));
        // One statement: the lead, its client info, and — when heard — `lead.created` to
        // every listening endpoint (with its delivery row) and one notification per staff
        // address, each body the event's with the new id filled in. Endpoints are not
        // locked: a delivery to an endpoint deleted or disabled meanwhile is skipped by
        // the worker.
        let events = if created.is_some() {
            format!(
                ", w AS (
                    SELECT w.id AS endpoint_id, l.id AS lead_id FROM webhook_endpoints w, l
                    WHERE w.enabled
                      AND (w.events @> ARRAY['*'] OR w.events @> ARRAY['{created}'])
                ), o AS (
                    INSERT INTO outbox (kind, topic, payload, next_attempt_at, created_at,
                                        updated_at)
                    SELECT 'webhook', 'webhook',
                           json_build_object('endpoint', endpoint_id, 'message_id', $19::text,
                                             'type', '{created}',
                                             'body', $20::text || lead_id || $21::text)::text,
                           $10, $10, $10
                    FROM w
                    RETURNING id, payload
                ), d AS (
                    INSERT INTO webhook_deliveries (outbox_id, endpoint_id)
                    SELECT id, (payload::json ->> 'endpoint')::int8 FROM o
                ), n AS (
                    INSERT INTO outbox (kind, topic, payload, next_attempt_at, created_at,
                                        updated_at)
                    SELECT 'mail', '{notification}',
                           json_build_object('to', t.address,
                                             'body', $20::text || l.id || $21::text)::text,
                           $10, $10, $10
                    FROM l, unnest($22::text[]) AS t(address)
                )",
                created = EventType::LeadCreated.as_str(),
                notification = LEAD_NOTIFICATION_TOPIC,
            )
        } else {
            String::new()
        };
        let sql = format!(
            "WITH l AS (
                INSERT INTO leads (full_name, position, company_name, email, phone, message,
                                   status, source, category, created_at, updated_at,
                                   quarantine_reasons, quarantined_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $17, $18)
                RETURNING *
            ), c AS (
                INSERT INTO client_info (lead_id, ip_address, user_agent, referrer,
                                         utm_source, utm_medium, utm_campaign)
                SELECT id, $11::inet, $12, $13, $14, $15, $16 FROM l
                RETURNING *
            ){events}
            SELECT {LEAD_COLUMNS} FROM l JOIN c ON c.lead_id = l.id"
        );
        let mut query = sqlx::query_as::<_, LeadRow>(&sql)
            .bind(lead.full_name())
            .bind(lead.position())
            .bind(lead.company_name())
            .bind(lead.email())
            .bind(lead.phone())
            .bind(lead.message())
            .bind(lead.status().as_str())
            .bind(lead.source())
            .bind(lead.category())
            .bind(now)
            .bind(info.ip_address.map(|ip| ip.to_string()))
            .bind(info.user_agent.as_deref())
            .bind(info.referrer.as_deref())
            .bind(info.utm_source.as_deref())
            .bind(info.utm_medium.as_deref())
            .bind(info.utm_campaign.as_deref())
            .bind(reasons_column(lead.quarantine()))
            .bind(lead.quarantine().map(|q| q.at));
        if let Some(created) = &created {
            query = query
                .bind(created.message_id())
                .bind(created.prefix())
                .bind(created.suffix())
                .bind(created.notify());
        }
        let row = query.fetch_one(&self.pool).await.map_err(from_sqlx)?;
        row.try_into()
    }

    async fn get_lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id \
             WHERE l.id = $1"
        );
        let row: Option<LeadRow> = sqlx::query_as(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(from_sqlx)?;
        row.map(Lead::try_from).transpose()
    }

    async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        let sql = format!(
            "WITH l AS (
                UPDATE leads SET
                    full_name = COALESCE($2::text, full_name),
                    position = COALESCE($3::text, position),
                    company_name = CASE WHEN $4 THEN $5::text ELSE company_name END,
                    email = CASE WHEN $6 THEN $7::text ELSE email END,
                    phone = CASE WHEN $8 THEN $9::text ELSE phone END,
                    message = CASE WHEN $10 THEN $11::text ELSE message END,
                    status = COALESCE($12::text, status),
                    source = COALESCE($13::text, source),
                    category = COALESCE($14::text, category),
                    updated_at = $15
                WHERE id = $1
                RETURNING *
            )
            SELECT {LEAD_COLUMNS} FROM l LEFT JOIN client_info c ON c.lead_id = l.id"
        );
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let row: Option<LeadRow> = sqlx::query_as(&sql)
            .bind(id.get())
            .bind(patch.full_name())
            .bind(patch.position())
            .bind(patch.company_name().is_some())
            .bind(patch.company_name().flatten())
            .bind(patch.email().is_some())
            .bind(patch.email().flatten())
            .bind(patch.phone().is_some())
            .bind(patch.phone().flatten())
            .bind(patch.message().is_some())
            .bind(patch.message().flatten())
            .bind(patch.status().map(LeadStatus::as_str))
            .bind(patch.source())
            .bind(patch.category())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(lead) = row.map(Lead::try_from).transpose()? else {
            return Ok(None);
        };
        // A quarantined lead is silent until released.
        if lead.quarantine.is_none() {
            announce(&mut tx, Some(Event::lead_updated(&lead, now)), now)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(lead))
    }

    async fn release_lead(
        &self,
        id: LeadId,
        effects: &LeadEffects,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        let sql = format!(
            "WITH l AS (
                UPDATE leads SET quarantine_reasons = NULL, quarantined_at = NULL
                WHERE id = $1 AND quarantined_at IS NOT NULL
                RETURNING *
            )
            SELECT {LEAD_COLUMNS} FROM l LEFT JOIN client_info c ON c.lead_id = l.id"
        );
        let released: Option<LeadRow> = sqlx::query_as(&sql)
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(lead) = released.map(Lead::try_from).transpose()? else {
            // Not quarantined (answered as it is), or no such lead.
            drop(tx);
            return self.get_lead(id).await;
        };
        let endpoints = webhook::listening(&mut tx, EventType::LeadCreated)
            .await
            .map_err(from_sqlx)?;
        let created = LeadCreated::for_stored(&lead, now, effects);
        for message in created.messages(id, &endpoints) {
            enqueue(&mut tx, &message, None, now)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(lead))
    }

    async fn delete_lead(&self, id: LeadId, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        // The client info goes with it (ON DELETE CASCADE).
        let quarantined: Option<bool> = sqlx::query_scalar(
            "DELETE FROM leads WHERE id = $1 RETURNING quarantined_at IS NOT NULL",
        )
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let Some(quarantined) = quarantined else {
            return Ok(false);
        };
        if !quarantined {
            announce(&mut tx, Some(Event::lead_deleted(id, now)), now)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn list_leads(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        page: PageRequest,
    ) -> StoreResult<Page<Lead>> {
        let listed = fetch_page::<LeadRow, Lead>(
            &self.pool,
            page_query("", filter, ordering, page),
            count_query("", filter),
            page,
        )
        .await?;
        Ok(listed)
    }

    async fn count_leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>> {
        self.leads_by_day(first, days).await
    }
}

impl PostgresStore {
    /// PostgreSQL's plans (`EXPLAIN`, not executed; text format, one line per row) of the
    /// two queries that [`LeadStore::list_leads`] sends for this list: the page with the
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
