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
