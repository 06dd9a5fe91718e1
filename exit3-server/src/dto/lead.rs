//! Leads on the wire.

use exit3_core::{ClientInfo, Lead};
use poem_openapi::Object;
use serde::Serialize;

use super::{LeadStatusWire, WireTime};

/// Where a lead came from, captured at creation.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ClientInfoOut {
    /// The client address (see the proxy rule).
    #[oai(nullable)]
    pub ip_address: Option<String>,
    /// The `User-Agent` header, cut to 512 characters.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The `Referer` header, cut to 512 characters.
    #[oai(nullable)]
    pub referrer: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_source: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_medium: Option<String>,
    /// From the create body.
    #[oai(nullable)]
    pub utm_campaign: Option<String>,
}

impl From<ClientInfo> for ClientInfoOut {
    fn from(c: ClientInfo) -> Self {
        Self {
            ip_address: c.ip_address.map(|ip| ip.to_string()),
            user_agent: c.user_agent,
            referrer: c.referrer,
            utm_source: c.utm_source,
            utm_medium: c.utm_medium,
            utm_campaign: c.utm_campaign,
        }
    }
}

/// A lead, as the admin reads it.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "Lead")]
pub struct LeadOut {
    /// Read-only.
    pub id: i64,
    /// 1–255 characters.
    pub full_name: String,
    /// 1–255 characters.
    pub position: String,
    /// Up to 255 characters.
    #[oai(nullable)]
    pub company_name: Option<String>,
    /// A valid, non-disposable address.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( ) .`; up to 32 characters.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// Up to 5000 characters; line breaks allowed.
    #[oai(nullable)]
    pub message: Option<String>,
    /// The workflow status.
    pub status: LeadStatusWire,
    /// One of the configured sources.
    pub source: String,
    /// One of the configured categories.
    pub category: String,
    /// Staff's internal notes (up to 10,000 characters, line breaks allowed; `""` when
    /// none). Only in answers to the admin key.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Read-only; captured at creation.
    #[oai(nullable)]
    pub client_info: Option<ClientInfoOut>,
    /// Read-only.
    pub created_at: WireTime,
    /// Read-only.
    pub updated_at: WireTime,
    /// Read-only: why the spam defence quarantined it (capture.md §1); null for an
    /// accepted lead, and always null in answers to the public key.
    #[oai(nullable)]
    pub quarantine: Option<QuarantineOut>,
}

/// A quarantine: its reasons and when it began.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "Quarantine")]
pub struct QuarantineOut {
    /// `honeypot`, `form_token_missing`, `form_token_invalid`, `form_token_too_fast`,
    /// `form_token_reused`, `too_many_links`.
    pub reasons: Vec<String>,
    /// When it was quarantined.
    pub at: WireTime,
}

impl From<exit3_core::spam::Quarantine> for QuarantineOut {
    fn from(q: exit3_core::spam::Quarantine) -> Self {
        Self {
            reasons: q.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
            at: WireTime(q.at),
        }
    }
}

impl LeadOut {
    /// The answer to the public key: the lead without its internal fields.
    pub fn public(lead: Lead) -> Self {
        Self {
            notes: None,
            ..lead.into()
        }
    }
}

impl From<Lead> for LeadOut {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id.get(),
            full_name: l.full_name,
            position: l.position,
            company_name: l.company_name,
            email: l.email,
            phone: l.phone,
            message: l.message,
            status: l.status.into(),
            source: l.source,
            category: l.category,
            notes: Some(l.notes),
            client_info: l.client_info.map(Into::into),
            created_at: WireTime(l.created_at),
            updated_at: WireTime(l.updated_at),
            quarantine: l.quarantine.map(Into::into),
        }
    }
}

/// A page of leads (DRF's page-number shape).
#[derive(Debug, Clone, Object, Serialize)]
pub struct LeadPage {
    /// How many leads match in all.
    pub count: u64,
    /// The next page's absolute URL, or null.
    #[oai(nullable)]
    pub next: Option<String>,
    /// The previous page's absolute URL (page 1 without `page`), or null.
    #[oai(nullable)]
    pub previous: Option<String>,
    /// This page's leads.
    pub results: Vec<LeadOut>,
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    /// `SerdeJson` answers with serde what `Json` would answer through `ToJSON`: same
    /// keys, order, nulls, statuses and timestamps, for every status and with and without
    /// client info and optional fields.
    #[test]
    fn serde_and_to_json_write_the_same_lead_page() {
        let at = time::macros::datetime!(2025-01-02 03:04:05.1234567 +02:00);
        let lead = |i: i64, status: LeadStatusWire, full: bool| LeadOut {
            id: i,
            full_name: format!("Ada \"{i}\" Lovelace é\n"),
            position: "CTO".into(),
            company_name: full.then(|| "Analytical <Engines>".into()),
            email: full.then(|| "ada@example.com".into()),
            phone: full.then(|| "+44 20".into()),
            message: full.then(|| "line 1\r\nline 2\t\u{1F600}".into()),
            status,
            source: "website".into(),
            category: "consulting".into(),
            notes: full.then(|| "Call back.\nBudget: 10k".into()),
            client_info: full.then(|| ClientInfoOut {
                ip_address: Some("2001:db8::1".into()),
                user_agent: Some("Mozilla/5.0".into()),
                referrer: None,
                utm_source: Some("google".into()),
                utm_medium: None,
                utm_campaign: Some("spring".into()),
            }),
            created_at: WireTime(at),
            updated_at: WireTime(at + time::Duration::microseconds(1)),
            quarantine: full.then(|| QuarantineOut {
                reasons: vec!["honeypot".into()],
                at: WireTime(at),
            }),
        };
        let statuses: Vec<LeadStatusWire> = exit3_core::LeadStatus::ALL
            .iter()
            .copied()
            .map(Into::into)
            .collect();
        let page = LeadPage {
            count: 12,
            next: Some("http://h/backend/api/v1/leads/?page=3".into()),
            previous: None,
            results: (0..10)
                .map(|i| lead(i, statuses[i as usize % 5], i % 2 == 0))
                .collect(),
        };
        let via_serde = serde_json::to_string(&page).unwrap_or_default();
        let via_to_json = page.to_json().map(|v| v.to_string()).unwrap_or_default();
        assert_eq!(via_serde, via_to_json);
        let one = lead(1, exit3_core::LeadStatus::Lost.into(), true);
        assert_eq!(
            serde_json::to_string(&one).unwrap_or_default(),
            one.to_json().map(|v| v.to_string()).unwrap_or_default()
        );
    }

    /// A webhook's `data` is the lead exactly as `GET leads/{id}/` answers it (capture.md
    /// §3), so that a receiver can use one parser for both.
    #[test]
    fn webhook_data_is_the_admin_answer() {
        let payload = exit3_core::Payload::from_json(serde_json::json!({
            "full_name": "Ada", "position": "CTO", "email": "ada@example.com",
            "message": "a\nb", "notes": "VIP", "utm_source": "news"}))
        .unwrap_or_default();
        let origin = exit3_core::Origin {
            ip: "2001:db8::1".parse().ok(),
            user_agent: Some("agent".into()),
            referrer: None,
        };
        let lead = exit3_core::NewLead::parse(
            &payload,
            &exit3_core::Policy::default(),
            exit3_core::Scope::Admin,
            &origin,
        )
        .map(|l| {
            l.into_lead(
                exit3_core::LeadId::new(7).unwrap_or(exit3_core::LeadId::MAX),
                time::macros::datetime!(2025-01-02 03:04:05.123456 UTC),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let answered = serde_json::to_value(LeadOut::from(lead.clone())).unwrap_or_default();
        assert_eq!(exit3_core::events::lead_json(&lead), answered);
        assert_eq!(answered["notes"], "VIP");
    }
}
