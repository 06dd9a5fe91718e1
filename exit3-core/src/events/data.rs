//! The `data` of events: leads and subscribers as the admin API shows them (exit3-server's
//! `Lead` and `SubscriberDetail`; a test there holds the two forms equal), so that a
//! receiver can use one parser for both.

use serde_json::{Value, json};

use crate::{Lead, Subscriber, clock::Timestamp, spam::Quarantine};

pub(super) fn rfc3339(at: Timestamp) -> String {
    crate::clock::to_rfc3339_micros(at)
}

fn time_or_null(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// A lead as `GET leads/{id}/` answers it.
pub fn lead_json(lead: &Lead) -> Value {
    let client_info = lead.client_info.as_ref().map_or(Value::Null, |c| {
        json!({
            "ip_address": c.ip_address.map(|ip| ip.to_string()),
            "user_agent": c.user_agent,
            "referrer": c.referrer,
            "utm_source": c.utm_source,
            "utm_medium": c.utm_medium,
            "utm_campaign": c.utm_campaign,
        })
    });
    json!({
        "id": lead.id.get(),
        "full_name": lead.full_name,
        "position": lead.position,
        "company_name": lead.company_name,
        "email": lead.email,
        "phone": lead.phone,
        "message": lead.message,
        "status": lead.status.as_str(),
        "source": lead.source,
        "category": lead.category,
        "notes": lead.notes,
        "client_info": client_info,
        "created_at": rfc3339(lead.created_at),
        "updated_at": rfc3339(lead.updated_at),
        "quarantine": quarantine_json(lead.quarantine.as_ref()),
    })
}

/// A quarantine as the admin answers show it, or null.
fn quarantine_json(quarantine: Option<&Quarantine>) -> Value {
    quarantine.map_or(Value::Null, |q| {
        json!({
            "reasons": q.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "at": rfc3339(q.at),
        })
    })
}

/// A subscriber as `GET newsletter/subscribers/{id}/` answers it, consent record
/// included.
pub fn subscriber_json(s: &Subscriber) -> Value {
    let c = &s.consent;
    json!({
        "id": s.id.get(),
        "email": s.email,
        "full_name": s.full_name,
        "status": s.status.as_str(),
        "source": s.source,
        "created_at": rfc3339(s.created_at),
        "updated_at": rfc3339(s.updated_at),
        "unsubscribed_at": time_or_null(s.unsubscribed_at),
        "confirmed_at": time_or_null(s.confirmed_at),
        // Null in every event (a quarantined subscriber announces nothing): the shape
        // of the admin answer.
        "quarantine": quarantine_json(s.quarantine.as_ref()),
        "consent": {
            "consent_text": c.text,
            "subscribed_at": time_or_null(c.subscribed_at),
            "subscribed_ip": c.subscribed_ip.map(|ip| ip.to_string()),
            "subscribed_user_agent": c.subscribed_user_agent,
            "confirmed_at": time_or_null(s.confirmed_at),
            "confirmed_ip": c.confirmed_ip.map(|ip| ip.to_string()),
            "unsubscribed_at": time_or_null(s.unsubscribed_at),
            "unsubscribe_method": c.unsubscribe_method.map(|m| m.as_str()),
        },
    })
}
