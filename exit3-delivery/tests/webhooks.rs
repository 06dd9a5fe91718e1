//! Webhook delivery end to end: the core's worker, the real `HttpWebhookSender` and a real
//! HTTP receiver on 127.0.0.1 that checks every signature — retries with one
//! `webhook-id`, 410 disabling the endpoint, redirects not followed, timeouts, and the
//! SSRF guard.

// Test helpers outside `#[test]` functions: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use exit3_core::{
    ApiKeys, Credential, Exit3, ManualClock, Payload, Ports, RequestContext,
    outbox::DeliveryStatus,
    ports::{WebhookReply, WebhookRequest, WebhookSender},
    testing::{at, subscribe_request},
    webhooks::WebhookEndpoint,
};
use exit3_delivery::{
    ConsoleMailer, HttpWebhookSender,
    testing::{Answer, WebhookReceiver},
};
use exit3_store_memory::MemoryStore;
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";

struct Setup {
    exit3: Exit3,
    clock: ManualClock,
    ports: Ports,
}

fn setup(timeout: Duration) -> Setup {
    let clock = ManualClock::new(at(0));
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new(
            [ADMIN],
            ["public-key-0123456789abcdef0123456789"],
        ))
        .clock(clock.clone())
        .webhook_allow_private(true)
        .build();
    let sender = HttpWebhookSender::with_timeout(true, timeout).unwrap();
    let ports = Ports::new(Arc::new(ConsoleMailer::default())).with_webhooks(Arc::new(sender));
    Setup {
        exit3,
        clock,
        ports,
    }
}

fn admin() -> RequestContext {
    RequestContext::new(Credential::Key(ADMIN.to_owned()), "127.0.0.1".parse().ok())
}

async fn add_endpoint(exit3: &Exit3, url: &str) -> WebhookEndpoint {
    let payload = Payload::from_json(json!({"url": url, "events": ["*"]})).unwrap();
    exit3.create_webhook(&admin(), &payload).await.unwrap()
}

async fn subscribe_active(exit3: &Exit3, email: &str) {
    exit3
        .store()
        .subscribe(
            &subscribe_request(json!({ "email": email }), false),
            &exit3_core::Actor::System,
            at(0),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_signed_delivery_until_it_takes_it() {
    let receiver = WebhookReceiver::start(vec![
        Answer::Status(500),
        Answer::Status(500),
        Answer::Status(200),
    ])
    .await
    .unwrap();
    let s = setup(Duration::from_secs(5));
    let endpoint = add_endpoint(&s.exit3, receiver.url()).await;
    subscribe_active(&s.exit3, "ada@example.com").await;

    let limits = Default::default();
    let first = s.exit3.deliver_once(&s.ports, limits).await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1));
    // Not due again before the schedule's 5 s (±10 %).
    s.clock.advance(Duration::from_secs(4));
    assert_eq!(
        s.exit3
            .deliver_once(&s.ports, limits)
            .await
            .unwrap()
            .claimed,
        0
    );
    s.clock.advance(Duration::from_secs(2));
    assert_eq!(
        s.exit3
            .deliver_once(&s.ports, limits)
            .await
            .unwrap()
            .retried,
        1
    );
    s.clock.advance(Duration::from_secs(331));
    assert_eq!(
        s.exit3
            .deliver_once(&s.ports, limits)
            .await
            .unwrap()
            .delivered,
        1
    );

    let calls = receiver.received();
    assert_eq!(calls.len(), 3);
    let id = calls[0].header("webhook-id").unwrap().to_owned();
    assert!(id.starts_with("msg_"));
    for call in &calls {
        assert_eq!(
            call.header("webhook-id"),
            Some(id.as_str()),
            "one id on every retry"
        );
        assert_eq!(call.header("content-type"), Some("application/json"));
        assert!(call.signed_with(&endpoint.secret.expose()));
        assert_eq!(call.body, calls[0].body, "the same body on every retry");
    }
    // Each attempt carries its own time.
    assert_ne!(
        calls[0].header("webhook-timestamp"),
        calls[2].header("webhook-timestamp")
    );
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body["type"], "subscriber.confirmed");
    assert_eq!(body["data"]["email"], "ada@example.com");

    let page = s
        .exit3
        .list_webhook_deliveries(&admin(), endpoint.id.get(), &Default::default())
        .await
        .unwrap();
    let d = &page.items[0];
    assert_eq!(
        (
            d.status,
            d.attempts,
            d.last_status_code,
            d.message_id.as_str()
        ),
        (DeliveryStatus::Delivered, 3, Some(200), id.as_str())
    );
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_later_events_skip_it() {
    let receiver = WebhookReceiver::start(vec![Answer::Status(410)])
        .await
        .unwrap();
    let s = setup(Duration::from_secs(5));
    let endpoint = add_endpoint(&s.exit3, receiver.url()).await;
    subscribe_active(&s.exit3, "ada@example.com").await;
    let report = s
        .exit3
        .deliver_once(&s.ports, Default::default())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    let now = s
        .exit3
        .get_webhook(&admin(), endpoint.id.get())
        .await
        .unwrap();
    assert!(!now.enabled, "a 410 turns the endpoint off");
    // A later event is not fanned out to a disabled endpoint.
    subscribe_active(&s.exit3, "bob@example.com").await;
    assert_eq!(
        s.exit3
            .deliver_once(&s.ports, Default::default())
            .await
            .unwrap()
            .claimed,
        0
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed_and_timeouts_are_retried() {
    let redirecting = WebhookReceiver::start(vec![Answer::Redirect])
        .await
        .unwrap();
    let hanging = WebhookReceiver::start(vec![Answer::Hang]).await.unwrap();
    let s = setup(Duration::from_millis(500));
    let a = add_endpoint(&s.exit3, redirecting.url()).await;
    let b = add_endpoint(&s.exit3, hanging.url()).await;
    subscribe_active(&s.exit3, "ada@example.com").await;
    let report = s
        .exit3
        .deliver_once(&s.ports, Default::default())
        .await
        .unwrap();
    assert_eq!((report.claimed, report.retried), (2, 2));
    let of = |id: i64| {
        let exit3 = s.exit3.clone();
        async move {
            exit3
                .list_webhook_deliveries(&admin(), id, &Default::default())
                .await
                .unwrap()
                .items
                .remove(0)
        }
    };
    let redirected = of(a.id.get()).await;
    assert_eq!(
        (redirected.status, redirected.last_status_code),
        (DeliveryStatus::Pending, Some(302))
    );
    let timed_out = of(b.id.get()).await;
    assert_eq!(timed_out.last_status_code, None);
    assert_eq!(timed_out.last_error.as_deref(), Some("timed out"));
    assert_eq!(
        redirecting.received().len(),
        1,
        "the redirect target was never called"
    );
}

#[tokio::test]
async fn without_allow_private_no_loopback_or_private_address_is_called() {
    let receiver = WebhookReceiver::start(vec![Answer::Status(200)])
        .await
        .unwrap();
    let strict = HttpWebhookSender::new(false).unwrap();
    let port = receiver
        .url()
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for url in [
        receiver.url().to_owned(),
        format!("http://localhost:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        "http://10.1.2.3/hook".to_owned(),
    ] {
        let reply = strict
            .post(&WebhookRequest {
                url: url.clone(),
                message_id: "msg_1".into(),
                timestamp: 1,
                signature: "v1,x".into(),
                body: "{}".into(),
            })
            .await;
        assert!(
            matches!(reply, WebhookReply::NoAnswer(_)),
            "{url}: {reply:?}"
        );
    }
    assert!(receiver.received().is_empty());
}

/// The official `standardwebhooks` Python package, as a receiver would use it, accepts
/// what we send. It needs that package: `EXIT3_STANDARDWEBHOOKS_PYTHON` names a Python
/// that has it (`.ci/run` makes one); without it the test says that it skipped.
#[tokio::test]
async fn the_official_python_library_verifies_our_deliveries() {
    let Ok(python) = std::env::var("EXIT3_STANDARDWEBHOOKS_PYTHON") else {
        eprintln!(
            "SKIPPED: set EXIT3_STANDARDWEBHOOKS_PYTHON to a python with `standardwebhooks` \
             (pip install standardwebhooks)"
        );
        return;
    };
    let receiver = WebhookReceiver::start(vec![Answer::Status(204)])
        .await
        .unwrap();
    // The library refuses timestamps more than 5 minutes off: the real clock here.
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new(
            [ADMIN],
            ["public-key-0123456789abcdef0123456789"],
        ))
        .webhook_allow_private(true)
        .build();
    let sender = HttpWebhookSender::new(true).unwrap();
    let ports = Ports::new(Arc::new(ConsoleMailer::default())).with_webhooks(Arc::new(sender));
    let endpoint = add_endpoint(&exit3, receiver.url()).await;
    // Rotated: two signatures, both of which must verify with their secret.
    let rotated = exit3
        .rotate_webhook_secret(&admin(), endpoint.id.get())
        .await
        .unwrap();
    exit3
        .ping_webhook(&admin(), endpoint.id.get())
        .await
        .unwrap();
    assert_eq!(
        exit3
            .deliver_once(&ports, Default::default())
            .await
            .unwrap()
            .delivered,
        1
    );
    let call = receiver.received().remove(0);
    assert_eq!(
        call.header("webhook-signature").unwrap().split(' ').count(),
        2
    );
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
data = json.load(sys.stdin)
for secret in data["secrets"]:
    payload = Webhook(secret).verify(data["body"], data["headers"])
    assert payload["type"] == "ping", payload
print("verified")
"#;
    let input = json!({
        "secrets": [rotated.secret.expose(), endpoint.secret.expose()],
        "body": call.body,
        "headers": {
            "webhook-id": call.header("webhook-id"),
            "webhook-timestamp": call.header("webhook-timestamp"),
            "webhook-signature": call.header("webhook-signature"),
        },
    });
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("verified"),
        "standardwebhooks refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
