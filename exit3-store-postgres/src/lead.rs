//! Leads and their client info.

use async_trait::async_trait;
use exit3_core::{
    Actor, ClientInfo, HistoryAction, HistoryObject, Lead, LeadFilter, LeadId, LeadPatch,
    LeadStatus, NewLead, Ordering, Page, PageRequest, ThrottleHit, Timestamp,
    domain::NewHistoryEntry,
    events::{Event, EventType, LeadCreated, LeadEffects},
    store::{Admitted, LeadStore, StoreError, StoreResult, hit_then_insert},
};
use sqlx::FromRow;

use crate::{
    PostgresStore,
    error::{corrupt, from_sqlx},
    history,
    lead_admit::AdmitJob,
    lead_insert::NewLeadJob,
    lead_list::{after_query, count_query, page_query},
    outbox::enqueue,
    quarantine::quarantine_of,
    query::fetch_page,
    throttle,
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
        // With the creates arriving at the same moment, in one statement and one commit
        // (`lead_insert.rs`); answered after that commit.
        let job = NewLeadJob {
            lead: lead.clone(),
            effects: effects.clone(),
            actor: actor.clone(),
            now,
        };
        self.leads.submit(job).await.unwrap_or_else(|| {
            Err(StoreError::other(
                "the batch writing the lead ended without an answer",
            ))
        })
    }

    async fn insert_lead_admitted(
        &self,
        hits: &[ThrottleHit],
        lead: &NewLead,
        effects: &LeadEffects,
        actor: &Actor,
        now: Timestamp,
    ) -> StoreResult<Admitted<Lead>> {
        // Nothing that records (no throttle, or checks alone): the two calls, the
        // decision answered as `hit` answers it.
        if !hits.iter().any(ThrottleHit::records) {
            return hit_then_insert(self, hits, lead, effects, actor, now).await;
        }
        throttle::distinct(hits)?;
        // With the creates arriving at the same moment: their decisions, then their leads,
        // in one batch (`lead_admit.rs`); answered after the leads' commit.
        let (hits, kept) = self.hit_job(hits, now);
        let job = AdmitJob {
            hits,
            lead: NewLeadJob {
                lead: lead.clone(),
                effects: effects.clone(),
                actor: actor.clone(),
                now,
            },
        };
        let admitted = self.admitted.submit(job).await.unwrap_or_else(|| {
            Err(StoreError::other(
                "the batch deciding and writing the lead ended without an answer",
            ))
        })?;
        Ok(match admitted {
            Admitted::Refused(decision) => {
                Admitted::Refused(throttle::in_caller_terms(decision, &kept))
            }
            written => written,
        })
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
