//! Leads and their client info.

use async_trait::async_trait;
use exit3_core::{
    Actor, ClientInfo, HistoryAction, HistoryObject, Lead, LeadFilter, LeadId, LeadPatch,
    LeadStatus, NewLead, Ordering, Page, PageRequest, Timestamp,
    domain::NewHistoryEntry,
    events::{Event, EventType, LeadCreated, LeadEffects},
    outbox::LEAD_NOTIFICATION_TOPIC,
    store::{LeadStore, StoreResult},
};
use sqlx::FromRow;

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
    history,
    lead_list::{after_query, count_query, page_query},
    outbox::enqueue,
    quarantine::{quarantine_of, reasons_column},
    query::fetch_page,
    webhook::{self, announce},
};

/// The columns every lead query reads: the lead `l` and its client info `c`.
pub(crate) const LEAD_COLUMNS: &str = "l.id, l.full_name, l.position, l.company_name, l.email, \
    l.phone, l.message, l.status, l.source, l.category, l.notes, l.created_at, l.updated_at, \
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
    notes: String,
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
            notes: r.notes,
            client_info,
            created_at: r.created_at,
            updated_at: r.updated_at,
            quarantine: quarantine_of(r.quarantine_reasons, r.quarantined_at)?,
        })
    }
}

#[async_trait]
impl LeadStore for PostgresStore {
    async fn insert_lead(
        &self,
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Lead> {
        let info = lead.client_info();
        // Nobody to tell (silent, no staff address, no endpoint listening as far as this
        // store knows): the lead and its client info alone.
        let created = effects
            .heard(!self.checks.recorded.no_lead_listeners())
            .then(|| LeadCreated::new(lead, now, effects));
        // One statement: the lead, its client info, its history entry (`created`, no
        // field changes: NewHistoryEntry::new), and — when heard — `lead.created` to
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
                           json_build_object('endpoint', endpoint_id, 'message_id', $21::text,
                                             'type', '{created}',
                                             'body', $22::text || lead_id || $23::text)::text,
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
                                             'body', $22::text || l.id || $23::text)::text,
                           $10, $10, $10
                    FROM l, unnest($24::text[]) AS t(address)
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
                                   quarantine_reasons, quarantined_at, notes)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $17, $18, $19)
                RETURNING *
            ), c AS (
                INSERT INTO client_info (lead_id, ip_address, user_agent, referrer,
                                         utm_source, utm_medium, utm_campaign)
                SELECT id, $11::inet, $12, $13, $14, $15, $16 FROM l
                RETURNING *
            ), h AS (
                INSERT INTO history (at, actor, action, object_kind, object_id)
                SELECT $10, $20, 'created', 'lead', id FROM l
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
            .bind(lead.quarantine().map(|q| q.at))
            .bind(lead.notes())
            .bind(actor.to_string());
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
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Option<Lead>> {
        let mut tx = self.pool.begin().await.map_err(from_sqlx)?;
        // The lead as it is, locked: the core applies the patch to it, and its history
        // entry is the difference.
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads l LEFT JOIN client_info c ON c.lead_id = l.id \
             WHERE l.id = $1 FOR UPDATE OF l"
        );
        let before: Option<LeadRow> = sqlx::query_as(&sql)
            .bind(id.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(before) = before.map(Lead::try_from).transpose()? else {
            return Ok(None);
        };
        let mut lead = before.clone();
        patch.apply(&mut lead, now);
        sqlx::query(
            "UPDATE leads SET full_name = $2, position = $3, company_name = $4, email = $5,
                 phone = $6, message = $7, status = $8, source = $9, category = $10,
                 notes = $11, updated_at = $12
             WHERE id = $1",
        )
        .bind(id.get())
        .bind(&lead.full_name)
        .bind(&lead.position)
        .bind(&lead.company_name)
        .bind(&lead.email)
        .bind(&lead.phone)
        .bind(&lead.message)
        .bind(lead.status.as_str())
        .bind(&lead.source)
        .bind(&lead.category)
        .bind(&lead.notes)
        .bind(lead.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        history::record(
            &mut tx,
            NewHistoryEntry::lead(actor, HistoryAction::Changed, &before, &lead, now),
        )
        .await
        .map_err(from_sqlx)?;
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
        actor: &Actor,
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
        let released =
            NewHistoryEntry::new(actor, HistoryAction::Released, HistoryObject::Lead(id), now);
        history::record(&mut tx, Some(released))
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(lead))
    }

    async fn delete_lead(&self, id: LeadId, actor: &Actor, now: Timestamp) -> StoreResult<bool> {
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
        let deleted =
            NewHistoryEntry::new(actor, HistoryAction::Deleted, HistoryObject::Lead(id), now);
        history::record(&mut tx, Some(deleted))
            .await
            .map_err(from_sqlx)?;
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

    async fn list_leads_after(
        &self,
        filter: &LeadFilter,
        ordering: Ordering,
        after: Option<&Lead>,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        let rows: Vec<LeadRow> = after_query("", filter, ordering, after, limit)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(from_sqlx)?;
        rows.into_iter().map(Lead::try_from).collect()
    }

    async fn count_leads_by_day(&self, first: Timestamp, days: u32) -> StoreResult<Vec<u64>> {
        self.leads_by_day(first, days).await
    }
}
