//! The staff site's pages and actions, called as a browser would (cookies kept between
//! requests), on each store (the PostgreSQL variant skips, saying so, without a database;
//! with `EXIT3_REQUIRE_POSTGRES=1` it fails instead): sign-in, CSRF, roles, expiry, open redirects,
//! tampered ids, edits with bad and good values, HTML shown as text.

mod common;

use std::time::Duration;

use common::*;
use exit3_core::{
    DynStore, Origin, Payload, QueryParams, RequestContext, StaffRole, ThrottleRates,
};
use serde_json::json;

async fn signed_out_visitors_are_sent_to_the_sign_in_page_and_back(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let mut b = Browser::new(&site);
    for path in [
        "/backend/admin/",
        "/backend/admin/leads/?status=new",
        "/backend/admin/leads/1/",
        "/backend/admin/leads/1/delete/",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, 303, "{path}");
        let to = p.location.expect("a location");
        assert!(to.starts_with("/backend/admin/login/?next="), "{to}");
    }
    let p = b
        .sign_in("ada", PASSWORD, "/backend/admin/leads/?status=new")
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(
        p.location.as_deref(),
        Some("/backend/admin/leads/?status=new")
    );
    let cookie = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("exit3_admin="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/backend/admin/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let list = b.get("/backend/admin/leads/").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("No leads yet"), "the empty state");
    let csp = list.headers.get("content-security-policy").expect("CSP");
    assert_eq!(
        csp,
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    );
    assert_eq!(
        list.headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );

    // Signing out is real: the old cookie opens nothing.
    let old = b.cookies.clone();
    let out = b
        .post(
            "/backend/admin/logout/",
            &[("csrfmiddlewaretoken", &list.csrf())],
        )
        .await;
    assert_eq!(out.status, 303);
    b.cookies = old;
    assert_eq!(b.get("/backend/admin/").await.status, 303);
}

async fn a_bad_sign_in_keeps_the_username_and_next_never_leaves_the_site(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let mut b = Browser::new(&site);
    let p = b
        .sign_in("ada<b>", "wrong password", "/backend/admin/")
        .await;
    assert_eq!(p.status, 200);
    assert!(
        p.body
            .contains("Please enter a correct username and password.")
    );
    assert!(p.body.contains("value=\"ada&#60;b&#62;\""), "kept, escaped");
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/backend/admin//evil",
    ] {
        let mut b = Browser::new(&site);
        let p = b.sign_in("ada", PASSWORD, next).await;
        assert_eq!(p.location.as_deref(), Some("/backend/admin/"), "{next}");
    }
    // Without the form's token, or with a token of another visitor's nonce: 403.
    let mut b = Browser::new(&site);
    let p = b
        .post(
            "/backend/admin/login/",
            &[("username", "ada"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"));
    let mut other = Browser::new(&site);
    let token = other.get("/backend/admin/login/").await.csrf();
    let _ = b.get("/backend/admin/login/").await;
    let p = b
        .post(
            "/backend/admin/login/",
            &[
                ("csrfmiddlewaretoken", &token),
                ("username", "ada"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 403);
}

async fn failed_sign_ins_are_throttled_with_the_wait(store: DynStore) {
    let site = site(store, ThrottleRates::default());
    add(&site, "ada", StaffRole::Staff).await;
    let mut b = Browser::new(&site);
    for _ in 0..5 {
        assert_eq!(b.sign_in("ada", "wrong password", "").await.status, 200);
    }
    let p = b.sign_in("ada", PASSWORD, "").await;
    assert_eq!(p.status, 429);
    assert!(
        p.body
            .contains("Too many failed login attempts. Try again in 15 minutes."),
        "{}",
        p.body
    );
    site.clock.advance(Duration::from_secs(901));
    assert_eq!(b.sign_in("ada", PASSWORD, "").await.status, 303);
}

async fn staff_find_edit_and_delete_a_lead(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let id = lead(
        &site,
        json!({"full_name": "Grace Hopper", "position": "CTO", "company_name": "Navy",
               "email": "grace@example.com"}),
        "<script>alert(1)</script>",
    )
    .await;
    lead(
        &site,
        json!({"full_name": "Alan Turing", "position": "Researcher"}),
        "x",
    )
    .await;
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;

    let dash = b.get("/backend/admin/").await;
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("Grace Hopper (Navy)"));
    assert!(dash.body.contains("<svg"), "the chart");

    let found = b.get("/backend/admin/leads/?search=grace").await;
    assert!(found.body.contains("Grace Hopper (Navy)"));
    assert!(!found.body.contains("Alan Turing"));
    assert!(found.body.contains("1 lead."), "{}", found.body);
    let none = b.get("/backend/admin/leads/?status=lost").await;
    assert!(none.body.contains("No leads match these filters."));
    let bad = b.get("/backend/admin/leads/?status=bogus").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("status:"), "the API's message");

    let page = b.get(&format!("/backend/admin/leads/{id}/")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    );
    assert!(!page.body.contains("<script>"));
    let csrf = page.csrf();
    let path = format!("/backend/admin/leads/{id}/");
    let mut form = vec![
        ("csrfmiddlewaretoken", csrf.as_str()),
        ("full_name", "Grace Hopper"),
        ("position", "CTO"),
        ("company_name", "Navy"),
        ("email", "not an address"),
        ("phone", ""),
        ("message", "Line one\nline two"),
        ("status", "new"),
        ("source", "website"),
        ("category", "other"),
    ];
    let refused = b.post(&path, &form).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Enter a valid email address."));
    assert!(
        refused.body.contains("value=\"not an address\""),
        "kept as typed"
    );
    assert!(refused.body.contains("aria-invalid=\"true\""));
    form[4] = ("email", "grace@navy.example");
    let saved = b.post(&path, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get(saved.location.as_deref().expect("back")).await;
    assert!(page.body.contains("Saved."));
    assert!(page.body.contains("grace@navy.example"));

    let moved = b
        .post(
            &format!("/backend/admin/leads/{id}/status/"),
            &[("csrfmiddlewaretoken", &csrf), ("status", "contacted")],
        )
        .await;
    assert_eq!(moved.status, 303);
    let page = b.get(&path).await;
    assert!(page.body.contains("status-contacted\">contacted"));

    let confirm = b.get(&format!("/backend/admin/leads/{id}/delete/")).await;
    assert!(confirm.body.contains("Delete this lead?"));
    assert!(confirm.body.contains("grace@navy.example"));
    let gone = b
        .post(
            &format!("/backend/admin/leads/{id}/delete/"),
            &[("csrfmiddlewaretoken", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303);
    assert_eq!(b.get(&path).await.status, 404);
}

async fn forms_without_their_sessions_token_change_nothing(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let id = lead(&site, json!({"full_name": "Ada", "position": "CTO"}), "x").await;
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    let mut other = Browser::new(&site);
    other.sign_in("ada", PASSWORD, "").await;
    let foreign = other.get("/backend/admin/").await.csrf();
    for token in ["", "AAAA", foreign.as_str()] {
        let p = b
            .post(
                &format!("/backend/admin/leads/{id}/delete/"),
                &[("csrfmiddlewaretoken", token)],
            )
            .await;
        assert_eq!(p.status, 403, "{token}");
    }
    assert_eq!(
        b.get(&format!("/backend/admin/leads/{id}/")).await.status,
        200
    );
}

async fn viewers_read_but_cannot_change(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "vera", StaffRole::Viewer).await;
    let id = lead(&site, json!({"full_name": "Ada", "position": "CTO"}), "x").await;
    let mut b = Browser::new(&site);
    b.sign_in("vera", PASSWORD, "").await;
    let page = b.get(&format!("/backend/admin/leads/{id}/")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(">Save<"));
    assert!(page.body.contains("disabled"));
    let p = b
        .post(
            &format!("/backend/admin/leads/{id}/status/"),
            &[("csrfmiddlewaretoken", &page.csrf()), ("status", "lost")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("Your role does not allow this."));
}

async fn tampered_ids_foreign_cookies_and_expired_sessions_never_fail(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    for path in [
        "/backend/admin/leads/abc/",
        "/backend/admin/leads/-1/",
        "/backend/admin/leads/0/",
        "/backend/admin/leads/99999999999999999999/",
        "/backend/admin/leads/42/",
        "/backend/admin/leads/42/delete/",
        "/backend/admin/nothing-here/",
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, 404, "{path}");
        assert!(p.body.contains("Not found"), "{path}");
    }
    let mut stranger = Browser::new(&site);
    stranger
        .cookies
        .insert("exit3_admin".into(), "forged-session-value".into());
    assert_eq!(stranger.get("/backend/admin/").await.status, 303);

    site.clock.advance(Duration::from_secs(3601));
    let p = b.get("/backend/admin/").await;
    assert_eq!(p.status, 303, "idle past SESSION_COOKIE_AGE");
}

async fn the_stylesheet_is_served_by_the_site(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    let mut b = Browser::new(&site);
    let css = b.get("/backend/admin/static/admin.css").await;
    assert_eq!(css.status, 200);
    assert!(css.body.contains("--accent"));
    let login = b.get("/backend/admin/login").await;
    assert_eq!(login.status, 200, "without the trailing slash too");
    assert!(
        login
            .body
            .contains("href=\"/backend/admin/static/admin.css\"")
    );
}

async fn bulk_actions_change_the_ticked_or_all_matching_and_delete_after_confirmation(
    store: DynStore,
) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let company = if i < 4 { "Navy" } else { "Army" };
        ids.push(
            lead(
                &site,
                json!({"full_name": format!("Person {i}"), "position": "CTO",
                       "company_name": company}),
                "x",
            )
            .await
            .to_string(),
        );
    }
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    let list = b.get("/backend/admin/leads/?search=navy").await;
    assert!(list.body.contains("name=\"ids\""), "tick boxes");
    let csrf = list.csrf();

    // Two ticked leads to `contacted`.
    let p = b
        .post(
            "/backend/admin/leads/bulk/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("query", "search=navy"),
                ("action", "status:contacted"),
                ("ids", &ids[0]),
                ("ids", &ids[1]),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let to = p.location.expect("back to the list");
    assert_eq!(to, "/backend/admin/leads/?search=navy&done=status-2");
    let back = b.get(&to).await;
    assert!(back.body.contains("Status changed on 2 leads."));
    let contacted = b.get("/backend/admin/leads/?status=contacted").await;
    assert!(contacted.body.contains("2 leads."), "{}", contacted.body);

    // Delete all matching `navy`: the confirmation lists the four, and only they go.
    let confirm = b
        .post(
            "/backend/admin/leads/bulk/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("query", "search=navy"),
                ("action", "delete"),
                ("scope", "all"),
            ],
        )
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete 4 leads?"), "{}", confirm.body);
    assert!(!confirm.body.contains("Army"));
    let listed: Vec<(&str, &str)> = ids[..4].iter().map(|id| ("ids", id.as_str())).collect();
    let mut form = vec![
        ("csrfmiddlewaretoken", csrf.as_str()),
        ("query", "search=navy"),
        ("action", "delete"),
        ("confirm", "yes"),
    ];
    form.extend(listed);
    let gone = b.post("/backend/admin/leads/bulk/", &form).await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/backend/admin/leads/?search=navy&done=deleted-4")
    );
    let rest = b.get("/backend/admin/leads/").await;
    assert!(rest.body.contains("2 leads."));
    assert!(rest.body.contains("Army"));

    // No action, or nothing ticked: nothing changes, and the list says so.
    let p = b
        .post(
            "/backend/admin/leads/bulk/",
            &[("csrfmiddlewaretoken", &csrf), ("action", "delete")],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/backend/admin/leads/?done=none")
    );
    // Without the token: refused.
    let p = b
        .post(
            "/backend/admin/leads/bulk/",
            &[("action", "delete"), ("ids", &ids[4]), ("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(
        b.get("/backend/admin/leads/")
            .await
            .body
            .contains("2 leads.")
    );
}

async fn superusers_manage_staff_and_others_may_not(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "root", StaffRole::Superuser).await;
    add(&site, "sam", StaffRole::Staff).await;
    let mut b = Browser::new(&site);
    b.sign_in("root", PASSWORD, "").await;
    let page = b.get("/backend/admin/staff/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">Staff</a>"), "in the navigation");
    assert!(page.body.contains("Deactivate sam"));
    assert!(
        !page.body.contains("Deactivate root"),
        "not offered for oneself"
    );
    let csrf = page.csrf();
    let refused = b
        .post(
            "/backend/admin/staff/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", "new user"),
                ("email", "nope"),
                ("role", "viewer"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("email: Enter a valid email address."));
    assert!(refused.body.contains("value=\"new user\""), "kept as typed");
    let added = b
        .post(
            "/backend/admin/staff/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", "vera"),
                ("email", "vera@example.com"),
                ("role", "viewer"),
                ("password", "a long staff password"),
            ],
        )
        .await;
    assert_eq!(
        added.location.as_deref(),
        Some("/backend/admin/staff/?done=added")
    );
    let users = site
        .exit3
        .list_staff(&RequestContext::with_key(ADMIN))
        .await
        .expect("listed");
    let vera = users
        .iter()
        .find(|u| u.username.as_str() == "vera")
        .expect("vera");
    let root = users
        .iter()
        .find(|u| u.username.as_str() == "root")
        .expect("root");
    let to = |id: exit3_core::StaffId| format!("/backend/admin/staff/{id}/");
    let p = b
        .post(
            &to(vera.id),
            &[("csrfmiddlewaretoken", &csrf), ("role", "staff")],
        )
        .await;
    assert_eq!(p.status, 303);
    let p = b
        .post(
            &to(vera.id),
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(p.status, 303);
    let mut v = Browser::new(&site);
    assert_eq!(
        v.sign_in("vera", "a new long password", "").await.status,
        303
    );
    let p = b
        .post(
            &to(vera.id),
            &[("csrfmiddlewaretoken", &csrf), ("active", "false")],
        )
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(
        v.get("/backend/admin/").await.status,
        303,
        "signed out by it"
    );
    let own = b
        .post(
            &to(root.id),
            &[("csrfmiddlewaretoken", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(own.status, 403, "a superuser keeps their own role");

    let mut s = Browser::new(&site);
    s.sign_in("sam", PASSWORD, "").await;
    let p = s.get("/backend/admin/staff/").await;
    assert_eq!(p.status, 403);
    assert!(!s.get("/backend/admin/").await.body.contains(">Staff</a>"));
}

async fn quarantined_leads_and_subscriptions_are_released_or_deleted(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let visitor = RequestContext::with_key(PUBLIC);
    let trap = |name: &str| {
        Payload::from_json(json!({"full_name": name, "position": "CTO", "website": "x"}))
            .expect("object")
    };
    for name in ["Spam One", "Spam Two"] {
        site.exit3
            .create_lead(&visitor, &trap(name))
            .await
            .expect("stored, quarantined");
    }
    site.exit3
        .subscribe(
            &visitor,
            &Payload::from_json(json!({"email": "bot@example.com", "website": "x"}))
                .expect("object"),
        )
        .await
        .expect("stored, quarantined");
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    assert!(
        b.get("/backend/admin/leads/")
            .await
            .body
            .contains("No leads yet")
    );
    let page = b.get("/backend/admin/quarantine/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Leads (2)") && page.body.contains("Subscriptions (1)"));
    assert!(page.body.contains("honeypot"), "the reason");
    let leads = site
        .exit3
        .list_leads(
            &RequestContext::with_key(ADMIN),
            &QueryParams::new([("quarantined", "true")]),
        )
        .await
        .expect("listed");
    let one = leads
        .items
        .iter()
        .find(|l| l.full_name == "Spam One")
        .expect("one")
        .id
        .to_string();
    let csrf = page.csrf();
    let p = b
        .post(
            "/backend/admin/quarantine/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("action", "release"),
                ("leads", &one),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/backend/admin/quarantine/?done=released-1")
    );
    assert!(
        b.get(&p.location.expect("back"))
            .await
            .body
            .contains("1 released.")
    );
    assert!(
        b.get("/backend/admin/leads/")
            .await
            .body
            .contains("Spam One")
    );
    let subscribers = site
        .exit3
        .list_subscribers(
            &RequestContext::with_key(ADMIN),
            &QueryParams::new([("quarantined", "true")]),
        )
        .await
        .expect("listed");
    let bot = subscribers.items[0].id.to_string();
    let p = b
        .post(
            "/backend/admin/quarantine/",
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("action", "delete"),
                ("subscribers", &bot),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/backend/admin/quarantine/?done=deleted-1")
    );
    let page = b.get("/backend/admin/quarantine/").await;
    assert!(page.body.contains("Leads (1)") && page.body.contains("Subscriptions (0)"));
    assert!(page.body.contains("No subscription is in quarantine."));
}

async fn subscribers_are_listed_shown_with_their_consent_unsubscribed_and_deleted(store: DynStore) {
    let site = site(store, ThrottleRates::off());
    add(&site, "ada", StaffRole::Staff).await;
    let visitor = RequestContext {
        origin: Origin {
            ip: "198.51.100.7".parse().ok(),
            user_agent: Some("Firefox <b>".into()),
            ..Origin::default()
        },
        ..RequestContext::with_key(PUBLIC)
    };
    for email in ["grace@example.com", "alan@example.com"] {
        site.exit3
            .subscribe(
                &visitor,
                &Payload::from_json(json!({"email": email, "consent_text": "Yes, mail me"}))
                    .expect("object"),
            )
            .await
            .expect("subscribed");
    }
    let mut b = Browser::new(&site);
    b.sign_in("ada", PASSWORD, "").await;
    let list = b.get("/backend/admin/subscribers/?search=grace").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("grace@example.com") && !list.body.contains("alan@"));
    let subscribers = site
        .exit3
        .list_subscribers(
            &RequestContext::with_key(ADMIN),
            &QueryParams::new([("search", "grace")]),
        )
        .await
        .expect("listed");
    let id = subscribers.items[0].id;
    let path = format!("/backend/admin/subscribers/{id}/");
    let detail = b.get(&path).await;
    assert!(detail.body.contains("Consent record"));
    assert!(detail.body.contains("198.51.100.7"));
    assert!(detail.body.contains("Firefox &#60;b&#62;"), "escaped");
    let csrf = detail.csrf();
    let p = b
        .post(
            &path,
            &[("csrfmiddlewaretoken", &csrf), ("action", "unsubscribe")],
        )
        .await;
    assert_eq!(p.status, 303);
    let after = b.get(p.location.as_deref().expect("back")).await;
    assert!(after.body.contains("Unsubscribed."));
    assert!(after.body.contains("status\">unsubscribed"));
    let confirm = b.get(&format!("{path}?delete")).await;
    assert!(confirm.body.contains("Delete this subscriber?"));
    let gone = b
        .post(
            &path,
            &[("csrfmiddlewaretoken", &csrf), ("action", "delete")],
        )
        .await;
    assert_eq!(
        gone.location.as_deref(),
        Some("/backend/admin/subscribers/")
    );
    assert_eq!(b.get(&path).await.status, 404);
    assert_eq!(b.get("/backend/admin/subscribers/x/").await.status, 404);
}

on_every_store!(
    signed_out_visitors_are_sent_to_the_sign_in_page_and_back,
    a_bad_sign_in_keeps_the_username_and_next_never_leaves_the_site,
    failed_sign_ins_are_throttled_with_the_wait,
    staff_find_edit_and_delete_a_lead,
    forms_without_their_sessions_token_change_nothing,
    viewers_read_but_cannot_change,
    tampered_ids_foreign_cookies_and_expired_sessions_never_fail,
    the_stylesheet_is_served_by_the_site,
    bulk_actions_change_the_ticked_or_all_matching_and_delete_after_confirmation,
    superusers_manage_staff_and_others_may_not,
    quarantined_leads_and_subscriptions_are_released_or_deleted,
    subscribers_are_listed_shown_with_their_consent_unsubscribed_and_deleted,
);
