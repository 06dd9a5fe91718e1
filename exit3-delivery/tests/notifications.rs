//! The staff notification of a new lead (capture.md §3), end to end: a lead created
//! through the service, the worker's step, a real SMTP server on 127.0.0.1, and the mail
//! read back with a MIME parser.

use std::{sync::Arc, time::Duration};

use exit3_core::{
    ApiKeys, Credential, DeliveryLimits, Exit3, Payload, Ports, RequestContext,
    service::NewsletterSettings,
};
use exit3_delivery::{SmtpMailer, SmtpOptions, testing::SmtpSink};
use exit3_store_memory::MemoryStore;
use mail_parser::MessageParser;
use serde_json::json;

const PUBLIC: &str = "public-key-0123456789abcdef0123456789";
const WAIT: Duration = Duration::from_secs(10);

async fn setup(notify: &[&str]) -> (Exit3, Ports, SmtpSink) {
    let sink = SmtpSink::start().await.expect("the sink starts");
    let mailer = SmtpMailer::new(SmtpOptions {
        host: sink.host(),
        port: sink.port(),
        from: "Exit Three <hello@exit3.agency>".into(),
        timeout: Duration::from_secs(5),
        ..SmtpOptions::default()
    })
    .expect("a mailer");
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new(
            ["admin-key-0123456789abcdef0123456789"],
            [PUBLIC],
        ))
        .newsletter(NewsletterSettings {
            public_base_url: "https://crm.exit3.agency/".into(),
            ..NewsletterSettings::default()
        })
        .notify(notify.iter().copied())
        .build();
    (exit3, Ports::new(Arc::new(mailer)), sink)
}

fn visitor() -> RequestContext {
    RequestContext::new(
        Credential::Key(PUBLIC.to_owned()),
        "203.0.113.7".parse().ok(),
    )
}

#[tokio::test]
async fn each_staff_address_gets_the_lead_with_reply_to_the_lead() {
    let (exit3, ports, sink) = setup(&["sales@exit3.agency", "boss@exit3.agency"]).await;
    let body = json!({
        "full_name": "Ada Lovelace", "position": "CTO", "company_name": "Engines Ltd",
        "email": "ada@example.com", "phone": "+44 20 7946 0000",
        "message": "We need a website.\nSoon.", "utm_source": "newsletter",
    });
    let lead = exit3
        .create_lead(&visitor(), &Payload::from_json(body).expect("an object"))
        .await
        .expect("created");

    let report = exit3
        .deliver_once(&ports, DeliveryLimits::default())
        .await
        .expect("a step");
    assert_eq!((report.claimed, report.delivered), (2, 2));

    let received = sink.wait_for(2, WAIT).await.expect("two mails");
    let mut recipients: Vec<&str> = received
        .iter()
        .flat_map(|m| m.recipients.iter().map(String::as_str))
        .collect();
    recipients.sort_unstable();
    assert_eq!(recipients, ["boss@exit3.agency", "sales@exit3.agency"]);
    for mail in &received {
        let message = MessageParser::default()
            .parse(mail.data.as_bytes())
            .expect("a MIME message");
        assert_eq!(
            message.subject(),
            Some("New lead: Ada Lovelace (Engines Ltd)")
        );
        let reply_to = message
            .reply_to()
            .and_then(|r| r.first())
            .expect("Reply-To");
        assert_eq!(reply_to.address(), Some("ada@example.com"));
        let text = message
            .body_text(0)
            .expect("a text part")
            .replace("\r\n", "\n");
        let link = format!("https://crm.exit3.agency/backend/admin/leads/{}/", lead.id);
        for expected in [
            "Name: Ada Lovelace",
            "Company: Engines Ltd",
            "E-mail: ada@example.com",
            "Phone: +44 20 7946 0000",
            "Message: We need a website.\nSoon.",
            "IP address: 203.0.113.7",
            "UTM source: newsletter",
            link.as_str(),
        ] {
            assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
        }
        let html = message.body_html(0).expect("an HTML part");
        assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    }
}

#[tokio::test]
async fn a_lead_without_an_address_has_no_reply_to_and_nobody_configured_gets_nothing() {
    let (exit3, ports, sink) = setup(&["sales@exit3.agency"]).await;
    let body = json!({"full_name": "Bob", "position": "Owner", "phone": "123"});
    exit3
        .create_lead(&visitor(), &Payload::from_json(body).expect("an object"))
        .await
        .expect("created");
    exit3
        .deliver_once(&ports, DeliveryLimits::default())
        .await
        .expect("a step");
    let received = sink.wait_for(1, WAIT).await.expect("one mail");
    let message = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .expect("a MIME message");
    assert_eq!(message.subject(), Some("New lead: Bob"));
    assert!(message.reply_to().is_none());

    let (quiet, ports, sink) = setup(&[]).await;
    let body = json!({"full_name": "Carol", "position": "CEO"});
    quiet
        .create_lead(&visitor(), &Payload::from_json(body).expect("an object"))
        .await
        .expect("created");
    let report = quiet
        .deliver_once(&ports, DeliveryLimits::default())
        .await
        .expect("a step");
    assert_eq!(report.claimed, 0);
    assert!(sink.wait_for(1, Duration::from_millis(300)).await.is_err());
}
