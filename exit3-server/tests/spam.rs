//! The spam defence over HTTP (capture.md §1) on every store: each signal quarantines a
//! public create whose answer is the same as an accepted one's; the admin key is never
//! judged; staff list quarantined leads and subscriptions on request and release them
//! (a released subscription gets its confirmation mail, through a real SMTP sink). Every
//! answer is checked against the served OpenAPI document.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{
    ADMIN, Backend, PUBLIC, TestApp,
    delivery::{seen, spawn_delivering, wait_for_empty_outbox, wait_for_mail},
    on_every_store, spawn_with,
};
use serde_json::{Value, json};

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";
const TOKEN: &str = "/backend/api/v1/form-token/";

fn form(extra: Value) -> Value {
    let mut body = json!({"full_name": "Ada Lovelace", "position": "CTO", "message": "Hello"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

async fn token(app: &TestApp) -> String {
    let a = app.get(TOKEN, Some(PUBLIC)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["min_age_seconds"], 3);
    assert_eq!(a.json()["expires_in"], 86_400);
    a.json()["form_token"].as_str().unwrap().to_owned()
}

/// The reasons the admin sees for the lead of a public answer.
async fn reasons(app: &TestApp, created: &Value) -> Value {
    let id = created["id"].as_i64().unwrap();
    let a = app.get(&format!("{LEADS}{id}/"), Some(ADMIN)).await;
    a.json()["quarantine"]
        .get("reasons")
        .cloned()
        .unwrap_or(Value::Null)
}

/// One field of every row of a page.
fn column(page: &Value, field: &str) -> Vec<Value> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[field].clone())
        .collect()
}

/// The usual page of `list` and its `?quarantined=true` page, for a list holding one
/// accepted row and one the honeypot quarantined; `?quarantined=all` shows both, and
/// another value is the validation shape.
async fn quarantine_views(app: &TestApp, list: &str) -> (Value, Value) {
    let usual = app.get(list, Some(ADMIN)).await.json();
    let only = app
        .get(&format!("{list}?quarantined=true"), Some(ADMIN))
        .await
        .json();
    assert_eq!(
        only["results"][0]["quarantine"]["reasons"],
        json!(["honeypot"])
    );
    let all = app
        .get(&format!("{list}?quarantined=all"), Some(ADMIN))
        .await;
    assert_eq!(all.json()["count"], 2);
    let bad = app
        .get(&format!("{list}?quarantined=maybe"), Some(ADMIN))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["quarantined"].is_array(), "{}", bad.text);
    (usual, only)
}

async fn public_create(app: &TestApp, body: Value) -> Value {
    let a = app.post(LEADS, Some(PUBLIC), body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(
        a.json()["quarantine"],
        Value::Null,
        "the public key learns nothing"
    );
    a.json()
}

async fn each_signal_quarantines_and_the_answer_tells_nothing(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let clean = public_create(&app, form(json!({"website": ""}))).await;
    assert_eq!(reasons(&app, &clean).await, Value::Null);

    let honey = public_create(&app, form(json!({"website": "http://spam.example"}))).await;
    assert_eq!(reasons(&app, &honey).await, json!(["honeypot"]));

    let links = "see http://a.example http://b.example https://c.example www.d.example";
    let spammy = public_create(&app, form(json!({"message": links}))).await;
    assert_eq!(reasons(&app, &spammy).await, json!(["too_many_links"]));

    let fast = token(&app).await;
    let too_fast = public_create(&app, form(json!({"form_token": fast}))).await;
    assert_eq!(
        reasons(&app, &too_fast).await,
        json!(["form_token_too_fast"])
    );

    let good = token(&app).await;
    app.clock.advance(Duration::from_secs(5));
    let person = public_create(&app, form(json!({"form_token": good}))).await;
    assert_eq!(
        reasons(&app, &person).await,
        Value::Null,
        "a person, in time"
    );
    let replayed = public_create(&app, form(json!({"form_token": good}))).await;
    assert_eq!(reasons(&app, &replayed).await, json!(["form_token_reused"]));

    let forged = public_create(&app, form(json!({"form_token": "forged", "website": "x"}))).await;
    assert_eq!(
        reasons(&app, &forged).await,
        json!(["honeypot", "form_token_invalid"])
    );

    let old = token(&app).await;
    app.clock.advance(Duration::from_secs(86_400));
    let expired = public_create(&app, form(json!({"form_token": old}))).await;
    assert_eq!(reasons(&app, &expired).await, json!(["form_token_invalid"]));

    // The admin key is never judged.
    let admin = app
        .post(
            LEADS,
            Some(ADMIN),
            form(json!({"website": "x", "message": links})),
        )
        .await;
    assert_eq!(admin.status, 201);
    assert_eq!(admin.json()["quarantine"], Value::Null);
}

async fn a_required_token_must_be_there(backend: Backend) {
    let app = spawn_with(backend, &[("FORM_TOKEN", "required")]).await;
    let missing = public_create(&app, form(json!({}))).await;
    assert_eq!(reasons(&app, &missing).await, json!(["form_token_missing"]));
    let off = spawn_with(backend, &[("FORM_TOKEN", "off")]).await;
    let ignored = public_create(&off, form(json!({"form_token": "forged"}))).await;
    assert_eq!(reasons(&off, &ignored).await, Value::Null);
}

async fn staff_list_quarantined_leads_on_request_and_release_them(backend: Backend) {
    let app = spawn_with(backend, &[]).await;
    let accepted = public_create(&app, form(json!({}))).await;
    let doubtful = public_create(&app, form(json!({"website": "bot"}))).await;
    let ids = |page: &Value| -> Vec<i64> {
        column(page, "id")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    let (usual, only) = quarantine_views(&app, LEADS).await;
    assert_eq!(
        (usual["count"].clone(), ids(&usual)),
        (json!(1), vec![accepted["id"].as_i64().unwrap()])
    );
    assert_eq!(ids(&only), vec![doubtful["id"].as_i64().unwrap()]);

    let id = doubtful["id"].as_i64().unwrap();
    let release = format!("{LEADS}{id}/release/");
    assert_eq!(
        app.post(&release, Some(PUBLIC), json!({})).await.status,
        403
    );
    let released = app.post(&release, Some(ADMIN), json!({})).await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.json()["quarantine"], Value::Null);
    let usual = app.get(LEADS, Some(ADMIN)).await;
    assert_eq!(usual.json()["count"], 2);
    let again = app.post(&release, Some(ADMIN), json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        app.post(&format!("{LEADS}999999/release/"), Some(ADMIN), json!({}))
            .await
            .status,
        404
    );
}

/// A doubtful subscription is answered like any other, mailed nothing and listed only
/// on request; its release sends the confirmation mail, whose link confirms it.
async fn a_quarantined_subscription_gets_its_mail_only_when_released(backend: Backend) {
    let d = spawn_delivering(backend.store().await, &[]).await;
    let app = &d.app;
    let body = |email: &str, website: &str| json!({"email": email, "website": website});
    let person = app
        .post(NEWSLETTER, Some(PUBLIC), body("ada@example.com", ""))
        .await;
    let bot = app
        .post(
            NEWSLETTER,
            Some(PUBLIC),
            body("bob@example.com", "http://spam"),
        )
        .await;
    assert_eq!((person.status, bot.status), (201, 201), "{}", bot.text);
    assert_eq!(
        bot.json(),
        json!({"email": "bob@example.com", "status": "pending"}),
        "answered like the person"
    );
    wait_for_mail(&d.sink, 1).await;
    wait_for_empty_outbox(&*app.store).await;
    let mails = seen(&d.sink);
    assert_eq!(mails.len(), 1, "only the person's: {mails:?}");
    assert_eq!(mails[0].to, "ada@example.com");

    let (usual, only) = quarantine_views(app, NEWSLETTER).await;
    assert_eq!(column(&usual, "email"), vec![json!("ada@example.com")]);
    assert_eq!(usual["results"][0]["quarantine"], Value::Null);
    assert_eq!(column(&only, "email"), vec![json!("bob@example.com")]);

    let id = only["results"][0]["id"].as_i64().unwrap();
    let release = format!("{NEWSLETTER}{id}/release/");
    assert_eq!(
        app.post(&release, Some(PUBLIC), json!({})).await.status,
        403
    );
    let released = app.post(&release, Some(ADMIN), json!({})).await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.json()["quarantine"], Value::Null);
    assert_eq!(released.json()["status"], "pending");
    let mails = wait_for_mail(&d.sink, 2).await;
    assert_eq!(mails[1].to, "bob@example.com");
    let again = app.post(&release, Some(ADMIN), json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        app.post(
            &format!("{NEWSLETTER}999999/release/"),
            Some(ADMIN),
            json!({})
        )
        .await
        .status,
        404
    );
    wait_for_empty_outbox(&*app.store).await;
    assert_eq!(seen(&d.sink).len(), 2, "released once, mailed once");
    assert_eq!(app.get(NEWSLETTER, Some(ADMIN)).await.json()["count"], 2);
}

on_every_store!(
    each_signal_quarantines_and_the_answer_tells_nothing,
    a_required_token_must_be_there,
    staff_list_quarantined_leads_on_request_and_release_them,
    a_quarantined_subscription_gets_its_mail_only_when_released,
);
