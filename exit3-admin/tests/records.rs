//! The staff site's record keeping, as a browser uses it, on each store: a lead's
//! internal notes, the history of every write (on the lead's page and the history page,
//! filtered by actor and object), and the webhook endpoints superusers manage.

mod common;

use common::*;
use exit3_core::{DynStore, RequestContext, StaffRole, ThrottleRates};
use serde_json::json;

async fn notes_are_kept_and_the_history_shows_every_write(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    add(&site, "vic", StaffRole::Viewer).await;
    let id = lead(
        &site,
        json!({"full_name": "Grace Hopper", "position": "CTO", "company_name": "A < B & Co"}),
        "agent",
    )
    .await;
    let path = format!("/backend/admin/leads/{id}/");
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;

    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("api:admin:"), "created by the admin key");
    assert!(page.body.contains("id=\"id_notes\""));
    let csrf = page.csrf();

    // Markup is refused next to the field, and what was typed stays.
    let notes = format!("{path}notes/");
    let refused = b
        .post(
            &notes,
            &[("csrfmiddlewaretoken", &csrf), ("notes", "<b>call</b> her")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("HTML markup is not allowed."));
    assert!(
        refused
            .body
            .contains("&#60;b&#62;call&#60;/b&#62; her</textarea>")
    );
    assert!(
        refused.body.contains("value=\"Grace Hopper\""),
        "the other fields keep their stored values"
    );
    let saved = b
        .post(
            &notes,
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("notes", "Called on Tuesday.\nBudget: 10k, a < b"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get(saved.location.as_deref().expect("back")).await;
    assert!(page.body.contains("Notes saved."));
    assert!(
        page.body
            .contains("Called on Tuesday.\nBudget: 10k, a &#60; b</textarea>")
    );
    b.post(
        &format!("{path}status/"),
        &[("csrfmiddlewaretoken", &csrf), ("status", "contacted")],
    )
    .await;
    let stored = site
        .exit3
        .get_lead(&RequestContext::with_key(ADMIN), id)
        .await
        .expect("the lead");
    assert_eq!(stored.notes, "Called on Tuesday.\nBudget: 10k, a < b");

    // The lead's page: newest first, who and what, values escaped.
    let page = b.get(&path).await;
    let history = &page.body[page.body.find("id=\"history-heading\"").expect("history")..];
    let status_at = history.find("staff:ada").expect("ada's status change");
    assert!(history[status_at..].contains("contacted"));
    assert!(history.contains("<strong>notes</strong>"));
    assert!(history.contains("a &#60; b"), "values are text");
    let created_at = history.find("created").expect("the creation");
    assert!(created_at > status_at, "newest first");

    // The history page, filtered by actor, then by object, then refused.
    let mine = b.get("/backend/admin/history/?actor=staff%3Aada").await;
    assert_eq!(mine.status, 200);
    assert!(
        mine.body.contains("2 changes, newest first."),
        "{}",
        mine.body
    );
    let other = lead(&site, json!({"full_name": "Alan", "position": "X"}), "a").await;
    let about = b
        .get(&format!("/backend/admin/history/?object=lead%3A{other}"))
        .await;
    assert!(
        about.body.contains("1 change, newest first."),
        "{}",
        about.body
    );
    assert!(about.body.contains(&format!("lead:{other}")));
    let all = b.get("/backend/admin/history/").await;
    assert!(all.body.contains("4 changes"), "{}", all.body);
    let bad = b
        .get("/backend/admin/history/?actor=root&object=lead%3Ax")
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("Select a valid choice. root is not one of the available choices.")
    );
    assert!(bad.body.contains("value=\"root\""), "kept as typed");
    let none = b.get("/backend/admin/history/?actor=system").await;
    assert!(none.body.contains("No change matches these filters."));

    // A viewer reads the notes and the history, and cannot write.
    let mut v = Browser::new(&site);
    v.sign_in("vic", PASSWORD, "").await;
    let read = v.get(&path).await;
    assert!(read.body.contains("<p class=\"notes\">Called on Tuesday."));
    assert!(!read.body.contains("id=\"id_notes\""));
    let csrf = read.csrf();
    let refused = v
        .post(
            &notes,
            &[("csrfmiddlewaretoken", &csrf), ("notes", "mine now")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(v.get("/backend/admin/history/").await.status, 200);
}

async fn superusers_manage_webhooks_and_others_may_not(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "root", StaffRole::Superuser).await;
    add(&site, "ada", StaffRole::Staff).await;
    let mut staff = Browser::new(&site);
    staff.sign_in("ada", PASSWORD, "").await;
    let dash = staff.get("/backend/admin/").await;
    assert!(!dash.body.contains("webhooks/\""), "no link for staff");
    assert_eq!(staff.get("/backend/admin/webhooks/").await.status, 403);

    let mut b = Browser::new(&site);
    b.sign_in("root", PASSWORD, "").await;
    let list = b.get("/backend/admin/webhooks/").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("No endpoint yet"));
    let csrf = list.csrf();
    let refused = b
        .post(
            "/backend/admin/webhooks/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("url", "http://10.0.0.1/hook"),
                ("events", "lead.created"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Enter a public https URL."));
    assert!(refused.body.contains("value=\"http://10.0.0.1/hook\""));
    assert!(refused.body.contains("value=\"lead.created\" checked"));
    let made = b
        .post(
            "/backend/admin/webhooks/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("url", "https://hooks.example.com/exit3"),
                ("events", "lead.created"),
                ("events", "person.erased"),
                ("description", "CRM sync & <3"),
            ],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made.body.contains("whsec_"), "the secret, this once");
    let list = b.get("/backend/admin/webhooks/").await;
    let at = list
        .body
        .find("<td><a href=\"/backend/admin/webhooks/")
        .expect("the endpoint's link")
        + 13;
    let detail_path = list.body[at..][..list.body[at..].find('"').expect("end")].to_owned();
    assert!(list.body.contains("lead.created, person.erased"));
    assert!(list.body.contains("CRM sync &#38; &#60;3"));
    let detail = b.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    assert!(!detail.body.contains("whsec_"), "shown only once");
    assert!(detail.body.contains("Nothing sent yet."));

    let pinged = act(&mut b, &detail_path, &csrf, "ping", false).await;
    assert_eq!(pinged.status, 303);
    let page = b.get(pinged.location.as_deref().expect("back")).await;
    assert!(page.body.contains("A ping is on its way"));
    assert!(page.body.contains("<td>ping</td>"), "{}", page.body);
    let disabled = act(&mut b, &detail_path, &csrf, "disable", false).await;
    let page = b.get(disabled.location.as_deref().expect("back")).await;
    assert!(page.body.contains("<strong>disabled</strong>"));
    assert!(page.body.contains("value=\"enable\""));
    let rotated = act(&mut b, &detail_path, &csrf, "rotate", false).await;
    assert_eq!(rotated.status, 200);
    assert!(rotated.body.contains("whsec_"));
    assert!(
        rotated
            .body
            .contains("the previous one still signs for 24 hours")
    );
    let kept = act(&mut b, &detail_path, &csrf, "delete", false).await;
    assert!(kept.location.as_deref().expect("back").ends_with("keep=1"));
    assert_eq!(b.get(&detail_path).await.status, 200);
    let gone = act(&mut b, &detail_path, &csrf, "delete", true).await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/backend/admin/webhooks/?deleted=1")
    );
    assert_eq!(b.get(&detail_path).await.status, 404);
    assert_eq!(b.get("/backend/admin/webhooks/x/").await.status, 404);
}

/// Posts `action` on an endpoint's page (`confirm`: the deletion's box ticked).
async fn act(b: &mut Browser<'_>, path: &str, csrf: &str, action: &str, confirm: bool) -> Page {
    let mut form = vec![("csrfmiddlewaretoken", csrf), ("action", action)];
    if confirm {
        form.push(("confirm", "yes"));
    }
    b.post(path, &form).await
}

async fn staff_export_the_list_or_the_ticked_leads_and_viewers_may_not(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    add(&site, "vic", StaffRole::Viewer).await;
    let mut ids = Vec::new();
    for (name, status) in [("Grace", "new"), ("Alan", "contacted"), ("=Eve", "new")] {
        ids.push(
            lead(
                &site,
                json!({"full_name": name, "position": "X", "status": status}),
                "agent",
            )
            .await,
        );
    }
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    let list = b.get("/backend/admin/leads/?status=new").await;
    assert!(
        list.body
            .contains("href=\"/backend/admin/leads/export.csv?status=new\">Export all 2 as CSV"),
        "{}",
        list.body
    );
    let csv = b.get("/backend/admin/leads/export.csv?status=new").await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("\u{feff}id,full_name,"));
    assert!(
        lines[1].starts_with(&format!("{},'=Eve,", ids[2])),
        "newest first, defused"
    );
    assert!(lines[2].starts_with(&format!("{},Grace,", ids[0])));
    // A refused filter goes back to the list, which says why.
    let bad = b.get("/backend/admin/leads/export.csv?status=bogus").await;
    assert_eq!(
        bad.location.as_deref(),
        Some("/backend/admin/leads/?status=bogus")
    );

    // The ticked ones, from the bulk form.
    let csrf = list.csrf();
    let alan = ids[1].to_string();
    let grace = ids[0].to_string();
    let ticked = b
        .post(
            "/backend/admin/leads/bulk/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("action", "export"),
                ("ids", &alan),
                ("ids", &grace),
            ],
        )
        .await;
    assert_eq!(ticked.status, 200);
    let lines: Vec<&str> = ticked
        .body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with(&format!("{alan},Alan,")),
        "in the order ticked"
    );
    let subscribers = b.get("/backend/admin/subscribers/export.csv").await;
    assert_eq!(subscribers.status, 200);
    assert!(
        subscribers
            .body
            .starts_with("\u{feff}id,email,full_name,status")
    );

    let mut v = Browser::new(&site);
    v.sign_in("vic", PASSWORD, "").await;
    let list = v.get("/backend/admin/leads/").await;
    assert!(!list.body.contains("export.csv"), "no export for viewers");
    assert_eq!(v.get("/backend/admin/leads/export.csv").await.status, 403);
}

async fn superusers_export_and_erase_a_person_after_confirming(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "root", StaffRole::Superuser).await;
    add(&site, "ada", StaffRole::Staff).await;
    for name in ["Grace", "Grace again"] {
        lead(
            &site,
            json!({"full_name": name, "position": "X", "email": "Grace@Example.com"}),
            "agent",
        )
        .await;
    }
    let other = lead(
        &site,
        json!({"full_name": "Alan", "position": "X", "email": "alan@example.com"}),
        "agent",
    )
    .await;

    let mut staff = Browser::new(&site);
    staff.sign_in("ada", PASSWORD, "").await;
    assert_eq!(staff.get("/backend/admin/privacy/").await.status, 403);
    let csrf = staff.get("/backend/admin/").await.csrf();
    let refused = staff
        .post(
            "/backend/admin/privacy/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("email", "grace@example.com"),
                ("action", "export"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "the core refuses staff too");

    let mut b = Browser::new(&site);
    b.sign_in("root", PASSWORD, "").await;
    let form = b.get("/backend/admin/privacy/").await;
    assert_eq!(form.status, 200);
    let csrf = form.csrf();
    let bad = b
        .post(
            "/backend/admin/privacy/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("email", "not an address"),
                ("action", "erase"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Enter a valid email address."));
    assert!(bad.body.contains("value=\"not an address\""));

    let export = b
        .post(
            "/backend/admin/privacy/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("email", "GRACE@example.com"),
                ("action", "export"),
            ],
        )
        .await;
    assert_eq!(export.status, 200);
    assert!(
        export
            .headers
            .get("content-disposition")
            .is_some_and(|v| v == "attachment; filename=\"exit3-export.json\"")
    );
    let data: serde_json::Value = serde_json::from_str(&export.body).expect("JSON");
    assert_eq!(data["email"], "grace@example.com");
    assert_eq!(data["leads"].as_array().map(Vec::len), Some(2));
    assert_eq!(data["history"].as_array().map(Vec::len), Some(2));

    let confirm = b
        .post(
            "/backend/admin/privacy/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("email", "grace@example.com"),
                ("action", "erase"),
            ],
        )
        .await;
    assert!(
        confirm
            .body
            .contains("Erase everything about grace@example.com?")
    );
    assert!(confirm.body.contains("2 leads with this address"));
    assert_eq!(
        site.exit3
            .list_leads(&RequestContext::with_key(ADMIN), &Default::default())
            .await
            .expect("list")
            .count,
        3,
        "nothing erased before the confirmation"
    );
    let done = b
        .post(
            "/backend/admin/privacy/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("email", "grace@example.com"),
                ("action", "erase"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.body.contains("Erased: 2 leads, 0 subscribers"),
        "{}",
        done.body
    );
    let left = site
        .exit3
        .list_leads(&RequestContext::with_key(ADMIN), &Default::default())
        .await
        .expect("list");
    assert_eq!(
        left.items.iter().map(|l| l.id.get()).collect::<Vec<_>>(),
        [other]
    );
    let history = b.get("/backend/admin/history/?actor=staff%3Aroot").await;
    assert!(history.body.contains("erased person"), "{}", history.body);
}

on_every_store!(
    superusers_export_and_erase_a_person_after_confirming,
    notes_are_kept_and_the_history_shows_every_write,
    superusers_manage_webhooks_and_others_may_not,
    staff_export_the_list_or_the_ticked_leads_and_viewers_may_not,
);
