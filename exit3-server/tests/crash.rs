//! The outbox survives a crash (capture.md §3, §4): the binary killed with SIGKILL after
//! it answered 201 for a lead and before anything was delivered sends the lead's webhook
//! and its staff notification once it runs again — nothing acknowledged is lost.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use exit3_delivery::testing::{Answer, SmtpSink, WebhookReceiver};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_exit3-server");
const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
const PUBLIC: &str = "public-key-0123456789abcdef0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn serve(vars: &[(&str, String)]) -> Child {
    Command::new(BIN)
        .arg("serve")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let up = client
            .get(format!("{base}/backend/health/live/"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up at {base}");
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: Value) -> (u16, Value) {
    let resp = client
        .post(url)
        .header("authorization", format!("Basic {key}"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_acknowledged_before_a_crash_is_announced_after_the_restart() {
    let Some(db) = exit3_store_postgres::testing::test_db().await else {
        return;
    };
    let receiver = WebhookReceiver::start(vec![Answer::Status(200)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sink = SmtpSink::start().await.unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let (bind, smtp_port) = (format!("127.0.0.1:{port}"), sink.port().to_string());
    let base = format!("http://{bind}");
    let vars = |worker: &'static str| {
        vec![
            ("DATABASE_URL", db.url.clone()),
            ("BIND", bind.clone()),
            ("BASIC_API_KEY", ADMIN.to_owned()),
            ("PUBLIC_API_KEY", PUBLIC.to_owned()),
            ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
            ("LEAD_NOTIFY_EMAILS", "sales@exit3.agency".to_owned()),
            ("EMAIL_HOST", "127.0.0.1".to_owned()),
            ("EMAIL_PORT", smtp_port.clone()),
            ("WORKER", worker.to_owned()),
        ]
    };
    let client = reqwest::Client::new();

    // The first life: it stores and answers, and sends nothing (its worker is off, so
    // the kill surely falls between storing and delivering).
    let mut first = serve(&vars("off"));
    wait_until_up(&client, &base).await;
    let (status, hook) = post(
        &client,
        format!("{base}/backend/api/v1/webhooks/"),
        ADMIN,
        json!({"url": receiver.url(), "events": ["lead.created"]}),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let (status, lead) = post(
        &client,
        format!("{base}/backend/api/v1/leads/"),
        PUBLIC,
        json!({"full_name": "Ada Lovelace", "position": "CTO", "email": "ada@example.com"}),
    )
    .await;
    assert_eq!(status, 201, "{lead}");
    first.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = first.wait();
    assert!(receiver.received().is_empty());

    // The second life delivers what the first one acknowledged.
    let mut second = serve(&vars("on"));
    wait_until_up(&client, &base).await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let mails = sink.wait_for(1, Duration::from_secs(20)).await;
    second.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = second.wait();

    assert_eq!(got.len(), 1, "one delivery");
    let secret = hook["secret"].as_str().unwrap_or_default();
    assert!(got[0].signed_with(secret));
    let body: Value = serde_json::from_str(&got[0].body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["type"], "lead.created");
    assert_eq!(body["data"]["id"], lead["id"]);
    assert_eq!(body["data"]["email"], "ada@example.com");
    let mails = mails.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mails[0].recipients, ["sales@exit3.agency"]);
    assert!(mails[0].data.contains("New lead: Ada Lovelace"));
    db.drop_database().await;
}
