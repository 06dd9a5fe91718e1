//! The staff mail about a new lead (capture.md §3), composed from the `lead.created`
//! body the store kept: the lead as it was accepted, whatever happened to it since.

use serde_json::Value;

use crate::{
    messages,
    ports::{Mail, MailContent},
};

/// The labels of the lead's fields and of its client info, in the admin's order.
const LEAD_FIELDS: [(&str, &str); 10] = [
    ("full_name", "Name"),
    ("position", "Position"),
    ("company_name", "Company"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("message", "Message"),
    ("status", "Status"),
    ("source", "Source"),
    ("category", "Category"),
    ("created_at", "Received"),
];
const CLIENT_FIELDS: [(&str, &str); 6] = [
    ("ip_address", "IP address"),
    ("user_agent", "User agent"),
    ("referrer", "Referrer"),
    ("utm_source", "UTM source"),
    ("utm_medium", "UTM medium"),
    ("utm_campaign", "UTM campaign"),
];

/// The mail to `to` about the lead of `body` (a `lead.created` event), with `id` as its
/// message id and a link under `base_url`; `None` when the body holds no lead.
pub(super) fn lead_notification(id: String, to: &str, body: &str, base_url: &str) -> Option<Mail> {
    let event: Value = serde_json::from_str(body).ok()?;
    let lead = event.get("data")?;
    let lead_id = lead.get("id")?.as_i64()?;
    let text = |object: &Value, key: &str| {
        object
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut fields: Vec<(String, String)> = LEAD_FIELDS
        .iter()
        .filter_map(|(key, label)| Some(((*label).to_owned(), text(lead, key)?)))
        .collect();
    if let Some(client) = lead.get("client_info").filter(|c| c.is_object()) {
        fields.extend(
            CLIENT_FIELDS
                .iter()
                .filter_map(|(key, label)| Some(((*label).to_owned(), text(client, key)?))),
        );
    }
    let full_name = text(lead, "full_name").unwrap_or_default();
    Some(Mail {
        id,
        to: to.to_owned(),
        subject: messages::lead_notification_subject(
            &full_name,
            text(lead, "company_name").as_deref(),
        ),
        content: MailContent::LeadNotification {
            fields,
            admin_url: format!("{base_url}/backend/admin/leads/{lead_id}/"),
        },
        unsubscribe_url: None,
        reply_to: text(lead, "email"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_tells_every_field_and_replies_to_the_lead() {
        let body = serde_json::json!({
            "type": "lead.created",
            "timestamp": "2026-12-01T10:00:00.000000Z",
            "data": {
                "id": 7, "full_name": "Ada Lovelace", "position": "CTO",
                "company_name": "Engines Ltd", "email": "ada@example.com", "phone": null,
                "message": "Hello", "status": "new", "source": "website",
                "category": "general", "created_at": "2026-12-01T10:00:00.000000Z",
                "client_info": {"ip_address": "203.0.113.9", "user_agent": "UA",
                                "referrer": null, "utm_source": "ads",
                                "utm_medium": null, "utm_campaign": null},
            },
        })
        .to_string();
        let mail = lead_notification("m1".into(), "staff@exit3.agency", &body, "https://x.io")
            .unwrap_or_else(|| panic!("a mail"));
        assert_eq!(mail.subject, "New lead: Ada Lovelace (Engines Ltd)");
        assert_eq!(mail.reply_to.as_deref(), Some("ada@example.com"));
        let MailContent::LeadNotification { fields, admin_url } = mail.content else {
            panic!("a notification");
        };
        assert_eq!(admin_url, "https://x.io/backend/admin/leads/7/");
        let labels: Vec<&str> = fields.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Name",
                "Position",
                "Company",
                "E-mail",
                "Message",
                "Status",
                "Source",
                "Category",
                "Received",
                "IP address",
                "User agent",
                "UTM source"
            ]
        );
        assert_eq!(lead_notification("m".into(), "s@x.io", "{}", "b"), None);
    }

    #[test]
    fn a_lead_without_company_or_address_has_a_short_subject_and_no_reply_to() {
        let body = r#"{"data":{"id":1,"full_name":"Bob","company_name":null,"email":null}}"#;
        let mail = lead_notification("m".into(), "s@x.io", body, "b").unwrap_or_else(|| panic!());
        assert_eq!(mail.subject, "New lead: Bob");
        assert_eq!(mail.reply_to, None);
    }
}
