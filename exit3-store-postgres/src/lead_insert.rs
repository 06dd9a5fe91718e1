//! Storing new leads, a batch at a time (group commit, [`Batcher`](crate::batch)): the
//! leads of concurrent creates go in one statement — their rows, client info, history
//! entries, `lead.created` deliveries and staff notifications, each kind one multi-row
//! insert — and one commit. Per lead, a batch costs a quarter of a statement of its own
//! (`BENCHMARKS.md`, issue 16).

use exit3_core::{
    Actor, Lead, NewLead, Timestamp,
    events::{EventType, LeadCreated, LeadEffects},
    outbox::LEAD_NOTIFICATION_TOPIC,
    store::StoreResult,
};
use sqlx::PgPool;

use crate::{
    batch::Limits,
    error::{fail_all, from_sqlx, wrote_nothing},
    lead::{LEAD_COLUMNS, LeadRow},
    quarantine::reasons_column,
};

/// One create waiting for its batch.
#[derive(Debug)]
pub(crate) struct NewLeadJob {
    pub(crate) lead: NewLead,
    pub(crate) effects: LeadEffects,
    pub(crate) actor: Actor,
    pub(crate) now: Timestamp,
}

/// How creates are batched: at most 64 a batch; two batches at once, so that while one
/// waits for its commit to reach the disk the next is written — but the second only once
/// eight creates are queued, since each batch's statement costs the database about as
/// much as three more leads in it (`BENCHMARKS.md`, issue 16).
pub(crate) const LIMITS: Limits = Limits {
    max: 64,
    writers: 2,
    extra_at: 8,
};

/// Writes `jobs` as one batch, answering each; a batch the database refuses is tried
/// again one create at a time, so that one bad row fails alone (a batch whose outcome is
/// not known, its connection lost, is answered as failed and not written again).
/// `listeners`: whether any webhook endpoint may listen for `lead.created` (when none
/// does and nobody is to be mailed, a lead is written without its event rows).
pub(crate) async fn write(
    pool: &PgPool,
    jobs: Vec<NewLeadJob>,
    listeners: bool,
) -> Vec<StoreResult<Lead>> {
    match insert(pool, &jobs, listeners).await {
        Ok(leads) => leads.into_iter().map(Ok).collect(),
        Err(e) if jobs.len() == 1 => vec![Err(from_sqlx(e))],
        Err(e) if !wrote_nothing(&e) => fail_all(jobs.len(), e),
        Err(_) => {
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                let one = insert(pool, std::slice::from_ref(&job), listeners).await;
                answers.push(match one {
                    Ok(mut leads) => leads.pop().ok_or_else(|| {
                        exit3_core::StoreError::other("a stored lead was not read back")
                    }),
                    Err(e) => Err(from_sqlx(e)),
                });
            }
            answers
        }
    }
}

/// The columns of a batch, one array per column, one element per lead (in job order).
#[derive(Default)]
struct Columns {
    full_name: Vec<String>,
    position: Vec<String>,
    company_name: Vec<Option<String>>,
    email: Vec<Option<String>>,
    phone: Vec<Option<String>>,
    message: Vec<Option<String>>,
    status: Vec<&'static str>,
    source: Vec<String>,
    category: Vec<String>,
    at: Vec<Timestamp>,
    /// A quarantine's reasons as one comma-separated text (arrays of arrays must be
    /// rectangular in PostgreSQL; the reasons' names have no commas).
    reasons: Vec<Option<String>>,
    quarantined_at: Vec<Option<Timestamp>>,
    notes: Vec<String>,
    ip: Vec<Option<String>>,
    user_agent: Vec<Option<String>>,
    referrer: Vec<Option<String>>,
    utm_source: Vec<Option<String>>,
    utm_medium: Vec<Option<String>>,
    utm_campaign: Vec<Option<String>>,
    actor: Vec<String>,
    /// `lead.created`'s `webhook-id`, body before and after the id; `None` when nobody
    /// is told of the lead.
    message_id: Vec<Option<String>>,
    prefix: Vec<Option<String>>,
    suffix: Vec<Option<String>>,
    /// The staff notifications: the lead (its place in the batch, from 1) and the
    /// address, one pair per mail.
    notify_ord: Vec<i64>,
    notify_to: Vec<String>,
}

impl Columns {
    fn of(jobs: &[NewLeadJob], listeners: bool) -> Self {
        let mut c = Self::default();
        for (ord, job) in (1_i64..).zip(jobs) {
            let lead = &job.lead;
            let info = lead.client_info();
            c.full_name.push(lead.full_name().to_owned());
            c.position.push(lead.position().to_owned());
            c.company_name.push(lead.company_name().map(str::to_owned));
            c.email.push(lead.email().map(str::to_owned));
            c.phone.push(lead.phone().map(str::to_owned));
            c.message.push(lead.message().map(str::to_owned));
            c.status.push(lead.status().as_str());
            c.source.push(lead.source().to_owned());
            c.category.push(lead.category().to_owned());
            c.at.push(job.now);
            c.reasons
                .push(reasons_column(lead.quarantine()).map(|r| r.join(",")));
            c.quarantined_at.push(lead.quarantine().map(|q| q.at));
            c.notes.push(lead.notes().to_owned());
            c.ip.push(info.ip_address.map(|ip| ip.to_string()));
            c.user_agent.push(info.user_agent.clone());
            c.referrer.push(info.referrer.clone());
            c.utm_source.push(info.utm_source.clone());
            c.utm_medium.push(info.utm_medium.clone());
            c.utm_campaign.push(info.utm_campaign.clone());
            c.actor.push(job.actor.to_string());
            let created = job
                .effects
                .heard(listeners)
                .then(|| LeadCreated::new(lead, job.now, &job.effects));
            c.message_id
                .push(created.as_ref().map(|e| e.message_id().to_owned()));
            c.prefix
                .push(created.as_ref().map(|e| e.prefix().to_owned()));
            c.suffix
                .push(created.as_ref().map(|e| e.suffix().to_owned()));
            for to in created
                .as_ref()
                .map(LeadCreated::notify)
                .unwrap_or_default()
            {
                c.notify_ord.push(ord);
                c.notify_to.push(to.clone());
            }
        }
        c
    }
}

/// One statement for the whole batch: the leads (ids drawn in job order), their client
/// info and `created` history entries (NewHistoryEntry::new: no field changes), and for
/// those that are heard, `lead.created` to every listening endpoint (with its delivery
/// row) and one notification per staff address, each body the event's with the new id
/// filled in. Endpoints are not locked: a delivery to an endpoint deleted or disabled
/// meanwhile is skipped by the worker.
async fn insert(
    pool: &PgPool,
    jobs: &[NewLeadJob],
    listeners: bool,
) -> Result<Vec<Lead>, sqlx::Error> {
    let c = Columns::of(jobs, listeners);
    let sql = format!(
        "WITH input AS MATERIALIZED (
            SELECT u.*, nextval(pg_get_serial_sequence('leads', 'id')) AS id
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                        $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
                        $11::text[], $12::timestamptz[], $13::text[], $14::text[],
                        $15::text[], $16::text[], $17::text[], $18::text[], $19::text[],
                        $20::text[], $21::text[], $22::text[], $23::text[])
                 WITH ORDINALITY AS u(full_name, position, company_name, email, phone,
                                      message, status, source, category, at, reasons,
                                      quarantined_at, notes, ip, user_agent, referrer,
                                      utm_source, utm_medium, utm_campaign, actor,
                                      message_id, prefix, suffix, ord)
            ORDER BY u.ord
        ), l AS (
            INSERT INTO leads (id, full_name, position, company_name, email, phone, message,
                               status, source, category, created_at, updated_at,
                               quarantine_reasons, quarantined_at, notes)
            SELECT id, full_name, position, company_name, email, phone, message, status,
                   source, category, at, at, string_to_array(reasons, ','), quarantined_at,
                   notes
            FROM input ORDER BY ord
            RETURNING *
        ), c AS (
            INSERT INTO client_info (lead_id, ip_address, user_agent, referrer,
                                     utm_source, utm_medium, utm_campaign)
            SELECT id, ip::inet, user_agent, referrer, utm_source, utm_medium, utm_campaign
            FROM input
            RETURNING *
        ), h AS (
            INSERT INTO history (at, actor, action, object_kind, object_id)
            SELECT at, actor, 'created', 'lead', id FROM input
        ), w AS (
            SELECT w.id AS endpoint_id, i.id AS lead_id, i.message_id, i.prefix, i.suffix,
                   i.at
            FROM input i, webhook_endpoints w
            WHERE i.message_id IS NOT NULL AND w.enabled
              AND (w.events @> ARRAY['*'] OR w.events @> ARRAY['{created}'])
        ), o AS (
            INSERT INTO outbox (kind, topic, payload, next_attempt_at, created_at,
                                updated_at)
            SELECT 'webhook', 'webhook',
                   json_build_object('endpoint', endpoint_id, 'message_id', message_id,
                                     'type', '{created}',
                                     'body', prefix || lead_id || suffix)::text,
                   at, at, at
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
                                     'body', i.prefix || i.id || i.suffix)::text,
                   i.at, i.at, i.at
            FROM unnest($24::int8[], $25::text[]) AS t(ord, address)
            JOIN input i ON i.ord = t.ord
        )
        SELECT {LEAD_COLUMNS} FROM l JOIN c ON c.lead_id = l.id ORDER BY l.id",
        created = EventType::LeadCreated.as_str(),
        notification = LEAD_NOTIFICATION_TOPIC,
    );
    let rows: Vec<LeadRow> = sqlx::query_as(&sql)
        .bind(&c.full_name)
        .bind(&c.position)
        .bind(&c.company_name)
        .bind(&c.email)
        .bind(&c.phone)
        .bind(&c.message)
        .bind(&c.status)
        .bind(&c.source)
        .bind(&c.category)
        .bind(&c.at)
        .bind(&c.reasons)
        .bind(&c.quarantined_at)
        .bind(&c.notes)
        .bind(&c.ip)
        .bind(&c.user_agent)
        .bind(&c.referrer)
        .bind(&c.utm_source)
        .bind(&c.utm_medium)
        .bind(&c.utm_campaign)
        .bind(&c.actor)
        .bind(&c.message_id)
        .bind(&c.prefix)
        .bind(&c.suffix)
        .bind(&c.notify_ord)
        .bind(&c.notify_to)
        .fetch_all(pool)
        .await?;
    // Ids were drawn in job order, so the leads come back in it.
    rows.into_iter()
        .map(|r| Lead::try_from(r).map_err(|e| sqlx::Error::Protocol(e.to_string())))
        .collect()
}
