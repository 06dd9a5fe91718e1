//! A subscriber as its row: the columns read, and the whole state written back.

use std::net::IpAddr;

use exit3_core::{
    Subscriber, SubscriberId, SubscriberStatus, Timestamp,
    domain::{Consent, UnsubscribeMethod},
    store::{StoreError, StoreResult},
};
use sqlx::{FromRow, PgConnection};

use crate::{
    error::corrupt,
    quarantine::{quarantine_of, reasons_column},
};

pub(crate) const COLUMNS: &str = "s.id, s.email, s.full_name, s.status, s.source, \
    s.created_at, s.updated_at, s.unsubscribed_at, s.confirmed_at, s.consent_text, \
    s.subscribed_at, host(s.subscribed_ip) AS subscribed_ip, s.subscribed_user_agent, \
    host(s.confirmed_ip) AS confirmed_ip, s.confirmed_user_agent, s.unsubscribe_method, \
    s.confirmations_sent, s.quarantine_reasons, s.quarantined_at";

#[derive(Debug, FromRow)]
pub(crate) struct SubscriberRow {
    id: i64,
    email: String,
    full_name: Option<String>,
    status: String,
    source: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    unsubscribed_at: Option<Timestamp>,
    confirmed_at: Option<Timestamp>,
    consent_text: Option<String>,
    subscribed_at: Option<Timestamp>,
    subscribed_ip: Option<String>,
    subscribed_user_agent: Option<String>,
    confirmed_ip: Option<String>,
    confirmed_user_agent: Option<String>,
    unsubscribe_method: Option<String>,
    confirmations_sent: Vec<Timestamp>,
    quarantine_reasons: Option<Vec<String>>,
    quarantined_at: Option<Timestamp>,
}

fn ip(column: Option<String>) -> StoreResult<Option<IpAddr>> {
    column
        .map(|ip| ip.parse().map_err(|_| corrupt("IP address", &ip)))
        .transpose()
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = StoreError;

    fn try_from(r: SubscriberRow) -> Result<Self, Self::Error> {
        let unsubscribe_method = r
            .unsubscribe_method
            .map(|m| UnsubscribeMethod::parse(&m).ok_or_else(|| corrupt("unsubscribe method", &m)))
            .transpose()?;
        Ok(Subscriber {
            id: SubscriberId::new(r.id).ok_or_else(|| corrupt("subscriber id", r.id))?,
            status: SubscriberStatus::parse(&r.status)
                .ok_or_else(|| corrupt("subscriber status", &r.status))?,
            email: r.email,
            full_name: r.full_name,
            source: r.source,
            created_at: r.created_at,
            updated_at: r.updated_at,
            unsubscribed_at: r.unsubscribed_at,
            confirmed_at: r.confirmed_at,
            consent: Consent {
                text: r.consent_text,
                subscribed_at: r.subscribed_at,
                subscribed_ip: ip(r.subscribed_ip)?,
                subscribed_user_agent: r.subscribed_user_agent,
                confirmed_ip: ip(r.confirmed_ip)?,
                confirmed_user_agent: r.confirmed_user_agent,
                unsubscribe_method,
            },
            confirmations_sent: r.confirmations_sent,
            quarantine: quarantine_of(r.quarantine_reasons, r.quarantined_at)?,
        })
    }
}

/// How [`write`] stores a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// A new row; nothing when the address is taken (the caller looks again).
    Insert,
    /// Over the row with its id.
    Update,
}

/// Writes the whole state of `s`; `false` when an insert met a row with its address.
pub(super) async fn write(
    conn: &mut PgConnection,
    s: &Subscriber,
    how: Write,
) -> sqlx::Result<bool> {
    const VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::inet, $13, \
        $14::inet, $15, $16, $17, $18, $19";
    let sql = match how {
        Write::Insert => format!(
            "INSERT INTO newsletter_subscribers (id, email, full_name, status, source, \
                 created_at, updated_at, unsubscribed_at, confirmed_at, consent_text, \
                 subscribed_at, subscribed_ip, subscribed_user_agent, confirmed_ip, \
                 confirmed_user_agent, unsubscribe_method, confirmations_sent, \
                 quarantine_reasons, quarantined_at) \
             VALUES ({VALUES}) ON CONFLICT ((lower(email))) DO NOTHING"
        ),
        Write::Update => format!(
            "UPDATE newsletter_subscribers SET (email, full_name, status, source, \
                 created_at, updated_at, unsubscribed_at, confirmed_at, consent_text, \
                 subscribed_at, subscribed_ip, subscribed_user_agent, confirmed_ip, \
                 confirmed_user_agent, unsubscribe_method, confirmations_sent, \
                 quarantine_reasons, quarantined_at) = \
             ROW({}) WHERE id = $1",
            VALUES.trim_start_matches("$1, ")
        ),
    };
    let c = &s.consent;
    let done = sqlx::query(&sql)
        .bind(s.id.get())
        .bind(&s.email)
        .bind(&s.full_name)
        .bind(s.status.as_str())
        .bind(&s.source)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.unsubscribed_at)
        .bind(s.confirmed_at)
        .bind(&c.text)
        .bind(c.subscribed_at)
        .bind(c.subscribed_ip.map(|ip| ip.to_string()))
        .bind(&c.subscribed_user_agent)
        .bind(c.confirmed_ip.map(|ip| ip.to_string()))
        .bind(&c.confirmed_user_agent)
        .bind(c.unsubscribe_method.map(UnsubscribeMethod::as_str))
        .bind(&s.confirmations_sent)
        .bind(reasons_column(s.quarantine.as_ref()))
        .bind(s.quarantine.as_ref().map(|q| q.at))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The whole states of several subscribers, one array per column, one element per
/// subscriber; the times of their sent confirmations (an array each, and PostgreSQL's
/// arrays of arrays must be rectangular) as pairs of subscriber id and time.
#[derive(Default)]
struct Columns {
    id: Vec<i64>,
    email: Vec<String>,
    full_name: Vec<Option<String>>,
    status: Vec<&'static str>,
    source: Vec<String>,
    created_at: Vec<Timestamp>,
    updated_at: Vec<Timestamp>,
    unsubscribed_at: Vec<Option<Timestamp>>,
    confirmed_at: Vec<Option<Timestamp>>,
    consent_text: Vec<Option<String>>,
    subscribed_at: Vec<Option<Timestamp>>,
    subscribed_ip: Vec<Option<String>>,
    subscribed_user_agent: Vec<Option<String>>,
    confirmed_ip: Vec<Option<String>>,
    confirmed_user_agent: Vec<Option<String>>,
    unsubscribe_method: Vec<Option<&'static str>>,
    /// A quarantine's reasons as one comma-separated text (their names have no commas).
    quarantine_reasons: Vec<Option<String>>,
    quarantined_at: Vec<Option<Timestamp>>,
    sent_id: Vec<i64>,
    sent_at: Vec<Timestamp>,
}

impl Columns {
    fn of(subscribers: &[&Subscriber]) -> Self {
        let mut c = Self::default();
        for s in subscribers {
            let consent = &s.consent;
            c.id.push(s.id.get());
            c.email.push(s.email.clone());
            c.full_name.push(s.full_name.clone());
            c.status.push(s.status.as_str());
            c.source.push(s.source.clone());
            c.created_at.push(s.created_at);
            c.updated_at.push(s.updated_at);
            c.unsubscribed_at.push(s.unsubscribed_at);
            c.confirmed_at.push(s.confirmed_at);
            c.consent_text.push(consent.text.clone());
            c.subscribed_at.push(consent.subscribed_at);
            c.subscribed_ip
                .push(consent.subscribed_ip.map(|ip| ip.to_string()));
            c.subscribed_user_agent
                .push(consent.subscribed_user_agent.clone());
            c.confirmed_ip
                .push(consent.confirmed_ip.map(|ip| ip.to_string()));
            c.confirmed_user_agent
                .push(consent.confirmed_user_agent.clone());
            c.unsubscribe_method
                .push(consent.unsubscribe_method.map(UnsubscribeMethod::as_str));
            c.quarantine_reasons
                .push(reasons_column(s.quarantine.as_ref()).map(|r| r.join(",")));
            c.quarantined_at.push(s.quarantine.as_ref().map(|q| q.at));
            for at in &s.confirmations_sent {
                c.sent_id.push(s.id.get());
                c.sent_at.push(*at);
            }
        }
        c
    }
}

/// [`write`] for several subscribers in one statement (each once); answers how many rows
/// were written — fewer than given when an insert met a row with its address.
pub(super) async fn write_all(
    conn: &mut PgConnection,
    subscribers: &[&Subscriber],
    how: Write,
) -> sqlx::Result<usize> {
    if subscribers.is_empty() {
        return Ok(0);
    }
    const INPUT: &str = "WITH u AS (
            SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::timestamptz[], $7::timestamptz[], $8::timestamptz[],
                                 $9::timestamptz[], $10::text[], $11::timestamptz[],
                                 $12::text[], $13::text[], $14::text[], $15::text[],
                                 $16::text[], $17::text[], $18::timestamptz[])
                AS u(id, email, full_name, status, source, created_at, updated_at,
                     unsubscribed_at, confirmed_at, consent_text, subscribed_at,
                     subscribed_ip, subscribed_user_agent, confirmed_ip,
                     confirmed_user_agent, unsubscribe_method, quarantine_reasons,
                     quarantined_at)
        ), sent AS (
            SELECT c.id, array_agg(c.at ORDER BY c.n) AS times
            FROM unnest($19::int8[], $20::timestamptz[]) WITH ORDINALITY AS c(id, at, n)
            GROUP BY c.id
        )";
    const VALUES: &str = "u.email, u.full_name, u.status, u.source, u.created_at, \
        u.updated_at, u.unsubscribed_at, u.confirmed_at, u.consent_text, u.subscribed_at, \
        u.subscribed_ip::inet, u.subscribed_user_agent, u.confirmed_ip::inet, \
        u.confirmed_user_agent, u.unsubscribe_method, coalesce(sent.times, '{}'), \
        string_to_array(u.quarantine_reasons, ','), u.quarantined_at";
    const TARGETS: &str = "email, full_name, status, source, created_at, updated_at, \
        unsubscribed_at, confirmed_at, consent_text, subscribed_at, subscribed_ip, \
        subscribed_user_agent, confirmed_ip, confirmed_user_agent, unsubscribe_method, \
        confirmations_sent, quarantine_reasons, quarantined_at";
    let sql = match how {
        Write::Insert => format!(
            "{INPUT} INSERT INTO newsletter_subscribers (id, {TARGETS}) \
             SELECT u.id, {VALUES} FROM u LEFT JOIN sent ON sent.id = u.id \
             ON CONFLICT ((lower(email))) DO NOTHING"
        ),
        Write::Update => format!(
            "{INPUT} UPDATE newsletter_subscribers s SET ({TARGETS}) = ROW({VALUES}) \
             FROM u LEFT JOIN sent ON sent.id = u.id WHERE s.id = u.id"
        ),
    };
    let c = Columns::of(subscribers);
    // Planned for each call (not prepared), as the batch's look-up is: a plan kept from
    // while the table was small would read all of it to find the rows to update.
    let done = sqlx::query(&sql)
        .persistent(how == Write::Insert)
        .bind(&c.id)
        .bind(&c.email)
        .bind(&c.full_name)
        .bind(&c.status)
        .bind(&c.source)
        .bind(&c.created_at)
        .bind(&c.updated_at)
        .bind(&c.unsubscribed_at)
        .bind(&c.confirmed_at)
        .bind(&c.consent_text)
        .bind(&c.subscribed_at)
        .bind(&c.subscribed_ip)
        .bind(&c.subscribed_user_agent)
        .bind(&c.confirmed_ip)
        .bind(&c.confirmed_user_agent)
        .bind(&c.unsubscribe_method)
        .bind(&c.quarantine_reasons)
        .bind(&c.quarantined_at)
        .bind(&c.sent_id)
        .bind(&c.sent_at)
        .execute(conn)
        .await?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
}
