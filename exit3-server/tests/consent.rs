//! Double opt-in end to end (consent.md), against real parts: the server on 127.0.0.1 with
//! its delivery worker, sending real mail over SMTP to a sink on 127.0.0.1; the test reads
//! the links out of the received mail as a person (and a mail client) would, and follows
//! them. Also: the outbox through an SMTP outage, a 5xx answer, a flood, and two
//! instances on one PostgreSQL database sharing the work.

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use common::{
    ADMIN, Answer, Backend, PUBLIC, TestApp,
    delivery::{
        Delivering, Seen, spawn_delivering, spawn_delivering_to, wait_for_empty_outbox,
        wait_for_mail,
    },
    on_every_store, send, switch,
};
use exit3_core::store::OutboxStore;
use exit3_delivery::testing::SmtpSink;
use serde_json::{Value, json};

const NEWSLETTER: &str = "/backend/api/v1/newsletter/";

async fn subscribe(app: &TestApp, email: &str) -> Answer {
    app.post(
        NEWSLETTER,
        Some(PUBLIC),
        json!({"email": email, "consent_text": "Yes, send me the newsletter."}),
    )
    .await
}

/// The subscriber with `email`, as the admin reads it alone (with its consent record).
async fn subscriber(app: &TestApp, email: &str) -> Value {
    let list = app
        .get(&format!("{NEWSLETTER}?search={email}"), Some(ADMIN))
        .await
        .json();
    let id = list["results"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{list}"));
    app.get(&format!("{NEWSLETTER}{id}/"), Some(ADMIN))
        .await
        .json()
}

async fn get_page(app: &TestApp, url: &str) -> Answer {
    send(app.http.get(url)).await
}

async fn post_form(app: &TestApp, url: &str, content_type: &str, body: String) -> Answer {
    send(
        app.http
            .post(url)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// An HTML page of the contract: its status, no cookie, never cached, the security
/// headers, and the text.
fn assert_page(a: &Answer, status: u16, text: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        a.headers
    );
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert!(a.header("content-security-policy").is_some());
    assert!(a.header("set-cookie").is_none(), "a page set a cookie");
    assert!(a.text.contains(text), "{text:?} not in:\n{}", a.text);
}

fn confirm_link(mail: &Seen) -> String {
    mail.link("http://")
}

/// The `token` of a link.
fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap_or_default().to_owned()
}

/// The confirmation page's form, posted as a browser posts it to `url`.
async fn confirm_form(app: &TestApp, url: &str, token: &str) -> Answer {
    post_form(
        app,
        url,
        "application/x-www-form-urlencoded",
        format!("token={token}"),
    )
    .await
}

/// `POST newsletter/confirm/` with the public key.
async fn confirm_json(app: &TestApp, token: &str) -> Answer {
    app.post(
        "/backend/api/v1/newsletter/confirm/",
        Some(PUBLIC),
        json!({ "token": token }),
    )
    .await
}

async fn delivering(backend: Backend) -> Delivering {
    spawn_delivering(backend.store().await, &[]).await
}

/// From the form to the mailbox, through the confirmation page, and out again with a
/// mail client's one-click unsubscribe — form-urlencoded, then (after coming back)
/// multipart.
async fn double_opt_in_from_the_form_to_the_mailbox_and_out_again(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    let created = subscribe(app, "Ada@Example.com").await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.json(),
        json!({"email": "ada@example.com", "status": "pending"})
    );

    // The mail: to the address, with both parts, the link, and RFC 8058's headers.
    let mails = wait_for_mail(&d.sink, 1).await;
    let mail = &mails[0];
    assert_eq!(mail.to, "ada@example.com");
    assert_eq!(mail.subject, "Please confirm your subscription");
    assert!(
        mail.content_type.contains("multipart/alternative"),
        "{mail:?}"
    );
    assert_eq!(mail.list_unsubscribe_post, "List-Unsubscribe=One-Click");
    let link = confirm_link(mail);
    assert!(
        link.starts_with(&app.url("/backend/newsletter/confirm/?token=")),
        "{link}"
    );
    assert!(
        mail.html.contains(&link.replace('&', "&amp;")),
        "{}",
        mail.html
    );

    // GET shows a form and changes nothing (mail scanners follow links).
    let page = get_page(app, &link).await;
    assert_page(&page, 200, "Confirm my subscription");
    assert_page(&get_page(app, &link).await, 200, "<form method=\"post\">");
    assert_eq!(
        subscriber(app, "ada@example.com").await["status"],
        "pending"
    );

    // POST the form as the browser would: `token=T` to the page's own URL.
    let token = token_of(&link);
    let done = confirm_form(app, &link, &token).await;
    assert_page(&done, 200, "You are subscribed.");
    let ada = subscriber(app, "ada@example.com").await;
    assert_eq!(ada["status"], "active", "{ada}");
    assert!(ada["confirmed_at"].is_string(), "{ada}");
    assert_eq!(ada["consent"]["confirmed_ip"], "127.0.0.1");
    assert_eq!(
        ada["consent"]["consent_text"],
        "Yes, send me the newsletter."
    );
    assert_eq!(ada["consent"]["subscribed_ip"], "127.0.0.1");
    // A double click answers the same success.
    let again = confirm_form(app, &link, &token).await;
    assert_page(&again, 200, "You are subscribed.");

    // The mail's unsubscribe link: GET shows a button, changes nothing.
    let unsubscribe = mail.unsubscribe_url();
    assert!(mail.text.contains(&unsubscribe), "{}", mail.text);
    assert_page(&get_page(app, &unsubscribe).await, 200, "Unsubscribe");
    assert_eq!(subscriber(app, "ada@example.com").await["status"], "active");
    // A mail client's one-click POST, form-urlencoded, no cookie, no key.
    let out = post_form(
        app,
        &unsubscribe,
        "application/x-www-form-urlencoded",
        "List-Unsubscribe=One-Click".into(),
    )
    .await;
    assert_page(&out, 200, "You are unsubscribed.");
    let ada = subscriber(app, "ada@example.com").await;
    assert_eq!(ada["status"], "unsubscribed");
    assert!(ada["unsubscribed_at"].is_string());
    assert_eq!(ada["consent"]["unsubscribe_method"], "one_click");
    // Repeating it answers the same.
    let twice = post_form(
        app,
        &unsubscribe,
        "application/x-www-form-urlencoded",
        "List-Unsubscribe=One-Click".into(),
    )
    .await;
    assert_page(&twice, 200, "You are unsubscribed.");

    // Coming back needs a new confirmation: pending, a new mail (after the resend gap).
    app.clock.advance(Duration::from_secs(11 * 60));
    let back = subscribe(app, "ada@example.com").await;
    assert_eq!(
        (back.status, back.json()["status"].clone()),
        (200, json!("pending"))
    );
    let mails = wait_for_mail(&d.sink, 2).await;
    let second = &mails[1];
    assert_ne!(confirm_link(second), link, "a new token per mail");
    // The old link was used: it no longer confirms (the subscriber is not active).
    let stale = confirm_form(app, &link, &token).await;
    assert_page(&stale, 400, "This link is invalid or has expired.");
    // One-click as multipart/form-data, as some mail clients send it.
    let boundary = "exit3-boundary-7MA4YWxkTrZu0gW";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
         One-Click\r\n--{boundary}--\r\n"
    );
    let out = post_form(
        app,
        &second.unsubscribe_url(),
        &format!("multipart/form-data; boundary={boundary}"),
        multipart,
    )
    .await;
    assert_page(&out, 200, "You are unsubscribed.");
    let ada = subscriber(app, "ada@example.com").await;
    assert_eq!(
        (
            ada["status"].clone(),
            ada["consent"]["unsubscribe_method"].clone()
        ),
        (json!("unsubscribed"), json!("one_click"))
    );
}

/// Unknown, expired, used and tampered tokens get the contract's 400 pages and JSON;
/// the JSON confirm route confirms for a website with its own page.
async fn bad_links_get_the_contracts_answers(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    let confirm_page = app.url("/backend/newsletter/confirm/");
    let unsubscribe_page = app.url("/backend/newsletter/unsubscribe/");
    // Unknown (well-formed) and malformed tokens.
    let unknown = "A".repeat(43);
    for token in [unknown.as_str(), "short", ""] {
        let a = confirm_form(app, &confirm_page, token).await;
        assert_page(&a, 400, "This link is invalid or has expired.");
        let json = confirm_json(app, token).await;
        assert_eq!(
            (json.status, json.json()),
            (
                400,
                json!({"token": ["This link is invalid or has expired."]})
            )
        );
    }
    assert_page(
        &get_page(app, &format!("{confirm_page}?token=short")).await,
        400,
        "This link is invalid or has expired.",
    );
    // Expired: the link of a mail, followed after NEWSLETTER_CONFIRM_TTL (72 h).
    subscribe(app, "late@example.com").await;
    let mail = wait_for_mail(&d.sink, 1).await.remove(0);
    let link = confirm_link(&mail);
    let token = token_of(&link);
    app.clock.advance(Duration::from_secs(72 * 3600));
    let expired = confirm_form(app, &link, &token).await;
    assert_page(&expired, 400, "subscribe again");
    assert_eq!(
        subscriber(app, "late@example.com").await["status"],
        "pending"
    );
    // Tampered unsubscribe links: a changed signature, a changed id, garbage.
    let real = mail.unsubscribe_url();
    let real_token = token_of(&real);
    let mut flipped = real_token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    for token in [flipped.as_str(), "AAAA", "%00", ""] {
        let url = format!("{unsubscribe_page}?token={token}");
        assert_page(&get_page(app, &url).await, 400, "This link is invalid.");
        let post = post_form(
            app,
            &url,
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click".into(),
        )
        .await;
        assert_page(&post, 400, "This link is invalid.");
    }
    assert_eq!(
        subscriber(app, "late@example.com").await["status"],
        "pending"
    );

    // The JSON route, with a fresh mail's token (the resend gap has passed).
    subscribe(app, "late@example.com").await;
    let mail = wait_for_mail(&d.sink, 2).await.remove(1);
    let token = token_of(&confirm_link(&mail));
    let ok = confirm_json(app, &token).await;
    assert_eq!(
        (ok.status, ok.json()),
        (
            200,
            json!({"email": "late@example.com", "status": "active"})
        )
    );
    // Used again (a double click from the website): the same success.
    let again = confirm_json(app, &token).await;
    assert_eq!(again.status, 200);
    // No key: 403, as every API route.
    let anonymous = app
        .post(
            "/backend/api/v1/newsletter/confirm/",
            None,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(anonymous.status, 403);
}

/// A subscribe flood for one address sends at most the allowed mails: one per 10
/// minutes, five in 24 hours.
async fn a_subscribe_flood_sends_at_most_the_allowed_mails(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    // 120 requests, one a minute for two hours.
    for _ in 0..120 {
        let a = subscribe(app, "target@example.com").await;
        assert!(a.status == 200 || a.status == 201, "{}", a.text);
        app.clock.advance(Duration::from_secs(60));
    }
    wait_for_empty_outbox(&*app.store).await;
    let mails = d.sink.messages();
    assert_eq!(
        mails.len(),
        5,
        "minutes 0, 10, 20, 30 and 40; then the day is full"
    );
}

/// The SMTP server goes away: the mails wait in the outbox, are retried on the schedule,
/// and arrive once it is back — none lost, none twice.
async fn an_smtp_outage_delays_mail_and_loses_none(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    d.sink.stop().await;
    let addresses: Vec<String> = (0..5).map(|i| format!("reader{i}@example.com")).collect();
    for a in &addresses {
        assert_eq!(subscribe(app, a).await.status, 201);
    }
    // Every message is attempted and fails (connection refused): retried, not lost.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = d.metrics.render();
        if scrape.contains("exit3_deliveries_total{kind=\"mail\",outcome=\"retried\"} 5") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{scrape}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = app
        .store
        .outbox_stats()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.iter().map(|s| s.pending).sum::<u64>(), 5, "{stats:?}");
    // Back; the retry is due 5 s (± 10 %) after the failed attempt.
    d.sink.restart().await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        d.sink.messages().is_empty(),
        "a retry went out before its time"
    );
    app.clock.advance(Duration::from_secs(6));
    let mails = wait_for_mail(&d.sink, 5).await;
    wait_for_empty_outbox(&*app.store).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut received: Vec<String> = d
        .sink
        .messages()
        .iter()
        .map(|m| m.recipients.join(","))
        .collect();
    received.sort();
    assert_eq!(received, addresses, "{mails:?}");
}

/// A 5xx answer fails the message at once: never retried, counted as failed.
async fn a_permanent_smtp_refusal_fails_the_message_at_once(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    d.sink.refuse_rcpt(550);
    assert_eq!(subscribe(app, "gone@example.com").await.status, 201);
    wait_for_empty_outbox(&*app.store).await;
    let scrape = d.metrics.render();
    assert!(
        scrape.contains("exit3_deliveries_total{kind=\"mail\",outcome=\"failed\"} 1"),
        "{scrape}"
    );
    assert!(!scrape.contains("outcome=\"retried\""), "{scrape}");
    d.sink.accept_all();
    app.clock.advance(Duration::from_secs(48 * 3600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        d.sink.messages().is_empty(),
        "a failed message was sent again"
    );
}

/// The metrics of capture.md §4 at `/backend/metrics`: the backlog by kind and the
/// oldest message's age, read from the store.
async fn the_outbox_is_measured(backend: Backend) {
    let d = delivering(backend).await;
    let app = &d.app;
    d.sink.stop().await;
    subscribe(app, "wait@example.com").await;
    app.clock.advance(Duration::from_secs(3));
    let scrape = app.get("/backend/metrics", Some(ADMIN)).await.text;
    assert!(
        scrape.contains("exit3_outbox_pending{kind=\"mail\"} 1"),
        "{scrape}"
    );
    assert!(
        scrape.contains("exit3_outbox_pending{kind=\"webhook\"} 0"),
        "{scrape}"
    );
    assert!(
        scrape.contains("exit3_outbox_oldest_pending_seconds{kind=\"mail\"} 3.0"),
        "{scrape}"
    );
}

on_every_store!(
    double_opt_in_from_the_form_to_the_mailbox_and_out_again,
    bad_links_get_the_contracts_answers,
    a_subscribe_flood_sends_at_most_the_allowed_mails,
    an_smtp_outage_delays_mail_and_loses_none,
    a_permanent_smtp_refusal_fails_the_message_at_once,
    the_outbox_is_measured,
);

/// Two server instances on one PostgreSQL database, each with its worker, sending to one
/// SMTP server: every mail goes out exactly once, whichever instance took the request,
/// and the links of one instance's mails work on the other.
#[tokio::test]
async fn two_instances_on_one_database_share_the_work() {
    let Some(db) = exit3_store_postgres::testing::test_db().await else {
        return;
    };
    let sink = Arc::new(SmtpSink::start().await.unwrap_or_else(|e| panic!("{e}")));
    let first = spawn_delivering_to(switch(Arc::new(db.store().await)), sink.clone(), &[]).await;
    let second = spawn_delivering_to(switch(Arc::new(db.store().await)), sink.clone(), &[]).await;
    let addresses: Vec<String> = (0..40).map(|i| format!("many{i}@example.com")).collect();
    for (i, a) in addresses.iter().enumerate() {
        let app = if i % 2 == 0 { &first.app } else { &second.app };
        assert_eq!(subscribe(app, a).await.status, 201);
    }
    let mails = wait_for_mail(&sink, 40).await;
    wait_for_empty_outbox(&*first.app.store).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut per_address: HashMap<String, usize> = HashMap::new();
    for m in common::delivery::seen(&sink) {
        *per_address.entry(m.to).or_default() += 1;
    }
    assert_eq!(per_address.len(), 40);
    assert!(per_address.values().all(|&n| n == 1), "{per_address:?}");
    let delivered = |d: &Delivering| {
        let scrape = d.metrics.render();
        scrape
            .lines()
            .find(|l| l.starts_with("exit3_deliveries_total{kind=\"mail\",outcome=\"delivered\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(delivered(&first) + delivered(&second), 40);
    // A mail queued through the first instance confirms on the second.
    let link = confirm_link(&mails[0]);
    let on_second = link.replace(&first.app.addr.to_string(), &second.app.addr.to_string());
    let token = token_of(&link);
    let done = confirm_form(&second.app, &on_second, &token).await;
    assert_page(&done, 200, "You are subscribed.");
    drop((first, second));
    db.drop_database().await;
}
