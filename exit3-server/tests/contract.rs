//! The contract's tables, row by row, against the real server.

mod common;

use common::{ADMIN, Backend, PUBLIC, on_every_store, spawn_app, spawn_with};
use serde_json::{Value, json};

on_every_store!(
    creating_a_lead_with_the_admin_key_answers_201_with_the_lead,
    a_request_without_credentials_is_refused_with_403,
    listing_leads_filtered_by_status_shows_only_that_status,
    every_route_answers_under_both_prefixes_with_and_without_the_slash,
    health_answers_without_a_key,
    the_authentication_table,
    the_three_header_forms_are_accepted,
    the_public_key_writes_forms_and_reads_nothing_back,
    a_lead_has_every_field_of_the_contract,
    put_requires_the_required_fields_patch_does_not_and_delete_answers_204_empty,
    subscribing_is_idempotent_and_the_public_key_sees_a_receipt,
    subscriber_detail_routes_and_the_taken_address,
    validation_lists_every_failing_field_at_once,
    the_body_error_table,
    a_bad_body_without_a_key_is_refused_for_the_key_first,
    unknown_routes_ids_and_methods,
    pages_link_to_their_neighbours_keeping_other_parameters,
    an_empty_list_has_page_one_and_bad_filters_are_400,
    search_and_date_filters,
);

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";

fn ada() -> Value {
    json!({"full_name": "Ada Lovelace", "position": "CTO", "company_name": "Analytical"})
}

fn is_wire_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 27
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && s[20..26].bytes().all(|b| b.is_ascii_digit())
}

// --- The seed review's three example tests ------------------------------------------------

async fn creating_a_lead_with_the_admin_key_answers_201_with_the_lead(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.post(LEADS, Some(ADMIN), ada()).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let lead = a.json();
    assert_eq!(lead["full_name"], "Ada Lovelace");
    assert_eq!(lead["status"], "new");
    assert_eq!(lead["source"], "website");
    assert_eq!(lead["category"], "other");
    assert!(lead["id"].as_i64().is_some_and(|id| id > 0));
    assert!(
        is_wire_time(&lead["created_at"]) && is_wire_time(&lead["updated_at"]),
        "{lead}"
    );
    assert_eq!(lead["client_info"]["ip_address"], "127.0.0.1");
}

async fn a_request_without_credentials_is_refused_with_403(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.post(LEADS, None, ada()).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.json(),
        json!({"detail": "Authentication credentials were not provided."})
    );
}

async fn listing_leads_filtered_by_status_shows_only_that_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.create_lead(ada()).await;
    app.create_lead(json!({"full_name": "B", "position": "P"}))
        .await;
    app.create_lead(json!({"full_name": "C", "position": "P", "status": "lost"}))
        .await;
    let patch = app
        .call(
            "PATCH",
            &format!("{LEADS}{}/", first["id"]),
            Some(ADMIN),
            Some(json!({"status": "contacted"})),
            &[],
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    let list = app
        .get(&format!("{LEADS}?status=contacted"), Some(ADMIN))
        .await
        .json();
    let results = list["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["full_name"], "Ada Lovelace");
    assert_eq!(list["count"], 1);
    let new = app
        .get(&format!("{LEADS}?status=new"), Some(ADMIN))
        .await
        .json();
    assert_eq!(new["results"].as_array().map(Vec::len), Some(1));
}

// --- §1 paths --------------------------------------------------------------------------------

async fn every_route_answers_under_both_prefixes_with_and_without_the_slash(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.create_lead(ada()).await;
    let sub = app
        .post(NEWSLETTER, Some(ADMIN), json!({"email": "a@example.com"}))
        .await
        .json();
    for prefix in ["/backend/api/v1/", "/backend/api/"] {
        for slash in ["/", ""] {
            let get = |path: String| {
                let app = &app;
                async move { app.get(&path, Some(ADMIN)).await }
            };
            assert_eq!(get(format!("{prefix}leads{slash}")).await.status, 200);
            assert_eq!(
                get(format!("{prefix}leads/{}{slash}", lead["id"]))
                    .await
                    .status,
                200
            );
            assert_eq!(get(format!("{prefix}newsletter{slash}")).await.status, 200);
            assert_eq!(
                get(format!("{prefix}newsletter/{}{slash}", sub["id"]))
                    .await
                    .status,
                200
            );
            let created = app
                .post(&format!("{prefix}leads{slash}"), Some(ADMIN), ada())
                .await;
            assert_eq!(
                created.status, 201,
                "POST {prefix}leads{slash}: {}",
                created.text
            );
            let unsub = app
                .post(
                    &format!("{prefix}newsletter/unsubscribe{slash}"),
                    Some(PUBLIC),
                    json!({"email": "x@example.com"}),
                )
                .await;
            assert_eq!(unsub.status, 200);
        }
    }
    for path in [
        "/backend/health/",
        "/backend/health",
        "/backend/health/live/",
        "/backend/api/schema/",
        "/backend/api/docs/",
        "/backend/api/docs",
    ] {
        assert_eq!(app.get(path, None).await.status, 200, "{path}");
    }
}

async fn health_answers_without_a_key(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.get("/backend/health/", None).await.json(),
        json!({"status": "ok", "database": "ok"})
    );
    assert_eq!(
        app.get("/backend/health/live/", None).await.json(),
        json!({"status": "ok"})
    );
}

// --- §2 authentication ------------------------------------------------------------------------

async fn the_authentication_table(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "Authentication credentials were not provided."),
        (&[("authorization", "Basic wrong-key")], "Invalid API key."),
        (&[("authorization", "Token abc")], "Invalid API key."),
        (&[("x-api-key", "wrong")], "Invalid API key."),
        (
            &[("authorization", "Basic public-key-0123456789abcdef01234567")],
            "You do not have permission to perform this action.",
        ),
    ];
    for (headers, detail) in cases {
        let a = app.call("GET", LEADS, None, None, headers).await;
        assert_eq!(a.status, 403, "{headers:?}");
        assert_eq!(a.json(), json!({ "detail": detail }), "{headers:?}");
    }
}

async fn the_three_header_forms_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    for (name, value) in [
        ("authorization", format!("Basic {ADMIN}")),
        ("authorization", format!("Bearer {ADMIN}")),
        ("x-api-key", ADMIN.to_owned()),
    ] {
        let a = app.call("GET", LEADS, None, None, &[(name, &value)]).await;
        assert_eq!(a.status, 200, "{name}");
    }
}

async fn the_public_key_writes_forms_and_reads_nothing_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .post(
            LEADS,
            Some(PUBLIC),
            json!({"full_name": "A", "position": "B", "status": "converted"}),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.json()["status"], "new");
    let id = a.json()["id"].clone();
    for (method, path) in [
        ("GET", LEADS.to_owned()),
        ("GET", format!("{LEADS}{id}/")),
        ("PATCH", format!("{LEADS}{id}/")),
        ("PUT", format!("{LEADS}{id}/")),
        ("DELETE", format!("{LEADS}{id}/")),
        ("GET", NEWSLETTER.to_owned()),
        ("GET", format!("{NEWSLETTER}1/")),
        ("PATCH", format!("{NEWSLETTER}1/")),
        ("DELETE", format!("{NEWSLETTER}1/")),
    ] {
        let a = app
            .call(method, &path, Some(PUBLIC), Some(json!({})), &[])
            .await;
        assert_eq!(a.status, 403, "{method} {path}");
    }
}

// --- §3 resources -----------------------------------------------------------------------------

async fn a_lead_has_every_field_of_the_contract(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app
        .call(
            "POST",
            LEADS,
            Some(ADMIN),
            Some(
                json!({"full_name": "  Ada ", "position": "CTO", "email": "Ada@EXAMPLE.com",
                        "phone": "+44 (0) 20-7946.0958", "message": "line1\nline2 a < b",
                        "source": "referral", "category": "web_dev", "utm_source": "news",
                        "id": 999, "created_at": "2000-01-01T00:00:00Z", "bogus": 1}),
            ),
            &[
                ("user-agent", "agent/1.0"),
                ("referer", "https://example.com/contact"),
            ],
        )
        .await;
    assert_eq!(lead.status, 201, "{}", lead.text);
    let l = lead.json();
    let mut keys: Vec<&str> = l
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "category",
            "client_info",
            "company_name",
            "created_at",
            "email",
            "full_name",
            "id",
            "message",
            // admin.md: staff's internal notes, in admin answers only.
            "notes",
            "phone",
            "position",
            // capture.md §1: the spam defence's mark, null unless quarantined.
            "quarantine",
            "source",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(l["quarantine"], Value::Null);
    assert_eq!(l["full_name"], "Ada");
    assert_ne!(l["id"], 999);
    assert_ne!(l["created_at"], "2000-01-01T00:00:00Z");
    assert_eq!(l["email"], "Ada@example.com");
    assert_eq!(l["company_name"], Value::Null);
    assert_eq!(
        l["client_info"],
        json!({"ip_address": "127.0.0.1", "user_agent": "agent/1.0", "referrer": "https://example.com/contact",
               "utm_source": "news", "utm_medium": null, "utm_campaign": null})
    );
    assert_eq!(l["notes"], "");

    // The public key can neither write nor read the internal notes.
    let public = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(json!({"full_name": "Bob", "position": "CEO", "notes": "VIP!"})),
            &[],
        )
        .await;
    assert_eq!(public.status, 201, "{}", public.text);
    let p = public.json();
    assert!(p.get("notes").is_none(), "{p}");
    let stored = app
        .call(
            "GET",
            &format!("{LEADS}{}/", p["id"]),
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(stored.json()["notes"], "");
    // The admin key writes them; markup and length follow the text rules.
    let id = &l["id"];
    let noted = app
        .call(
            "PATCH",
            &format!("{LEADS}{id}/"),
            Some(ADMIN),
            Some(json!({"notes": "  Called back.\nBudget 10k  "})),
            &[],
        )
        .await;
    assert_eq!(noted.json()["notes"], "Called back.\nBudget 10k");
    let refused = app
        .call(
            "PATCH",
            &format!("{LEADS}{id}/"),
            Some(ADMIN),
            Some(json!({"notes": "x".repeat(10_001), "message": "<b>hi</b>"})),
            &[],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        json!({"message": ["HTML markup is not allowed."],
               "notes": ["Ensure this field has no more than 10000 characters."]})
    );
}

async fn put_requires_the_required_fields_patch_does_not_and_delete_answers_204_empty(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let id = app.create_lead(ada()).await["id"].clone();
    let path = format!("{LEADS}{id}/");
    let put = app
        .call(
            "PUT",
            &path,
            Some(ADMIN),
            Some(json!({"status": "lost"})),
            &[],
        )
        .await;
    assert_eq!(put.status, 400);
    assert_eq!(
        put.json(),
        json!({"full_name": ["This field is required."], "position": ["This field is required."]})
    );
    let put = app
        .call(
            "PUT",
            &path,
            Some(ADMIN),
            Some(json!({"full_name": "X", "position": "Y"})),
            &[],
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.json()["full_name"], "X");
    let patch = app
        .call(
            "PATCH",
            &path,
            Some(ADMIN),
            Some(json!({"company_name": null})),
            &[],
        )
        .await;
    assert_eq!(patch.status, 200);
    assert_eq!(patch.json()["company_name"], Value::Null);
    let del = app.call("DELETE", &path, Some(ADMIN), None, &[]).await;
    assert_eq!(del.status, 204);
    assert_eq!(del.text, "");
    assert_eq!(app.get(&path, Some(ADMIN)).await.status, 404);
    assert_eq!(
        app.call("DELETE", &path, Some(ADMIN), None, &[])
            .await
            .status,
        404
    );
}

/// The original backend's behaviour (double opt-in off); `consent.rs` tests it on.
async fn subscribing_is_idempotent_and_the_public_key_sees_a_receipt(backend: Backend) {
    let app = spawn_with(backend, &[("NEWSLETTER_DOUBLE_OPT_IN", "false")]).await;
    let first = app
        .post(
            NEWSLETTER,
            Some(PUBLIC),
            json!({"email": "Reader@Example.com", "full_name": "R"}),
        )
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(
        first.json(),
        json!({"email": "reader@example.com", "status": "active"})
    );
    let again = app
        .post(
            NEWSLETTER,
            Some(PUBLIC),
            json!({"email": "reader@EXAMPLE.com"}),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json(),
        json!({"email": "reader@example.com", "status": "active"})
    );

    let unsub = app
        .post(
            &format!("{NEWSLETTER}unsubscribe/"),
            Some(PUBLIC),
            json!({"email": "reader@example.com"}),
        )
        .await;
    assert_eq!(unsub.status, 200);
    assert_eq!(
        unsub.json(),
        json!({"detail": "If this address was subscribed, it is now unsubscribed."})
    );
    let unknown = app
        .post(
            &format!("{NEWSLETTER}unsubscribe/"),
            Some(PUBLIC),
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((unknown.status, unknown.json()), (200, unsub.json()));

    let list = app.get(NEWSLETTER, Some(ADMIN)).await.json();
    let s = &list["results"][0];
    assert_eq!(s["status"], "unsubscribed");
    assert!(is_wire_time(&s["unsubscribed_at"]), "{s}");
    let back = app
        .post(
            NEWSLETTER,
            Some(ADMIN),
            json!({"email": "reader@example.com"}),
        )
        .await;
    assert_eq!(back.status, 200);
    let full = back.json();
    assert_eq!(full["status"], "active");
    assert_eq!(full["unsubscribed_at"], Value::Null);
    let mut keys: Vec<&str> = full
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "confirmed_at",
            "created_at",
            "email",
            "full_name",
            "id",
            "quarantine",
            "source",
            "status",
            "unsubscribed_at",
            "updated_at"
        ]
    );
}

async fn subscriber_detail_routes_and_the_taken_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .post(NEWSLETTER, Some(ADMIN), json!({"email": "a@example.com"}))
        .await
        .json();
    app.post(NEWSLETTER, Some(ADMIN), json!({"email": "b@example.com"}))
        .await;
    let path = format!("{NEWSLETTER}{}/", a["id"]);
    let taken = app
        .call(
            "PATCH",
            &path,
            Some(ADMIN),
            Some(json!({"email": "B@example.com"})),
            &[],
        )
        .await;
    assert_eq!(taken.status, 400);
    assert_eq!(
        taken.json(),
        json!({"email": ["A subscriber with this email already exists."]})
    );
    let ok = app
        .call(
            "PATCH",
            &path,
            Some(ADMIN),
            Some(json!({"full_name": "A"})),
            &[],
        )
        .await;
    assert_eq!(
        (ok.status, ok.json()["full_name"].clone()),
        (200, json!("A"))
    );
    let put = app
        .call("PUT", &path, Some(ADMIN), Some(json!({})), &[])
        .await;
    assert_eq!(put.status, 405);
    assert_eq!(
        put.header("allow"),
        Some("GET, PATCH, DELETE, HEAD, OPTIONS")
    );
    let del = app.call("DELETE", &path, Some(ADMIN), None, &[]).await;
    assert_eq!((del.status, del.text.as_str()), (204, ""));
}

// --- §3 text rules, §5 errors -------------------------------------------------------------------

async fn validation_lists_every_failing_field_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app
        .post(LEADS, Some(ADMIN), json!({"email": "nope", "phone": "abc", "message": "<b>hi</b>",
              "company_name": "x".repeat(256), "source": "tv", "position": true, "full_name": null}))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json(),
        json!({
            "company_name": ["Ensure this field has no more than 255 characters."],
            "email": ["Enter a valid email address."],
            "full_name": ["This field may not be null."],
            "message": ["HTML markup is not allowed."],
            "phone": a.json()["phone"].clone(),
            "position": ["Not a valid string."],
            "source": ["\"tv\" is not a valid choice."],
        })
    );
    let blank = app
        .post(
            LEADS,
            Some(ADMIN),
            json!({"full_name": "  ", "position": 12}),
        )
        .await;
    assert_eq!(
        blank.json(),
        json!({"full_name": ["This field may not be blank."]})
    );
    let disposable = app
        .post(
            NEWSLETTER,
            Some(ADMIN),
            json!({"email": "x@mailinator.com"}),
        )
        .await;
    assert_eq!(
        disposable.json(),
        json!({"email": ["Disposable email addresses are not allowed."]})
    );
}

async fn the_body_error_table(backend: Backend) {
    let app = spawn_app(backend).await;
    let raw = |ct: Option<&'static str>, body: Vec<u8>| {
        let mut req = app
            .http
            .post(app.url(LEADS))
            .header("authorization", format!("Basic {ADMIN}"))
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        common::send(req)
    };
    let bad = raw(Some("application/json"), b"{\"full_name\": ".to_vec()).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("JSON parse error - ")),
        "{}",
        bad.text
    );
    let list = raw(Some("application/json"), b"[1, 2]".to_vec()).await;
    assert_eq!(
        (list.status, list.json()),
        (
            400,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        )
    );
    let text = raw(Some("text/plain"), b"hello".to_vec()).await;
    assert_eq!(
        (text.status, text.json()),
        (
            415,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        )
    );
    let big = raw(Some("application/json"), vec![b' '; 64 * 1024 + 1]).await;
    assert_eq!(
        (big.status, big.json()),
        (413, json!({"detail": "Request body is too large."}))
    );
    for (ct, body) in [
        (None, b"whatever".to_vec()),
        (Some("application/json"), Vec::new()),
        (Some("text/plain"), Vec::new()),
    ] {
        let empty = raw(ct, body).await;
        assert_eq!(
            (empty.status, empty.json()),
            (
                400,
                json!({"full_name": ["This field is required."], "position": ["This field is required."]})
            ),
            "{ct:?}"
        );
    }
    let form = raw(
        Some("application/x-www-form-urlencoded"),
        b"full_name=Ada+L&position=CTO&email=a%40example.com".to_vec(),
    )
    .await;
    assert_eq!(form.status, 201, "{}", form.text);
    assert_eq!(form.json()["full_name"], "Ada L");
    let deep = raw(
        Some("application/json"),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
    )
    .await;
    assert_eq!(deep.status, 400);
}

async fn a_bad_body_without_a_key_is_refused_for_the_key_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let req = app
        .http
        .post(app.url(LEADS))
        .header("content-type", "text/plain")
        .body("x");
    let a = common::send(req).await;
    assert_eq!(
        (a.status, a.json()["detail"].clone()),
        (403, json!("Authentication credentials were not provided."))
    );
}

async fn unknown_routes_ids_and_methods(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/backend/api/v1/nope/",
        "/backend/api/v2/leads/",
        "/nothing",
        "/backend/api/v1/leads/1/extra/",
    ] {
        let a = app.get(path, Some(ADMIN)).await;
        assert_eq!(
            (a.status, a.json()),
            (404, json!({"detail": "Not found."})),
            "{path}"
        );
    }
    for id in ["12345", "abc", "0", "-1", "99999999999999999999999"] {
        let a = app.get(&format!("{LEADS}{id}/"), Some(ADMIN)).await;
        assert_eq!(
            (a.status, a.json()),
            (404, json!({"detail": "Not found."})),
            "{id}"
        );
    }
    let a = app.call("PUT", LEADS, Some(ADMIN), None, &[]).await;
    assert_eq!(
        (a.status, a.json()),
        (405, json!({"detail": "Method \"PUT\" not allowed."}))
    );
    assert_eq!(a.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    let a = app
        .call(
            "GET",
            &format!("{NEWSLETTER}unsubscribe/"),
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!((a.status, a.header("allow")), (405, Some("POST, OPTIONS")));
}

// --- §4 lists ------------------------------------------------------------------------------------

async fn pages_link_to_their_neighbours_keeping_other_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        app.create_lead(json!({"full_name": format!("Lead {i}"), "position": "P"}))
            .await;
        app.clock.advance(std::time::Duration::from_secs(1));
    }
    let base = app.url(LEADS);
    let p1 = app
        .get(
            &format!("{LEADS}?page_size=2&ordering=full_name"),
            Some(ADMIN),
        )
        .await
        .json();
    assert_eq!(p1["count"], 5);
    assert_eq!(p1["previous"], Value::Null);
    assert_eq!(
        p1["next"],
        json!(format!("{base}?page_size=2&ordering=full_name&page=2"))
    );
    assert_eq!(p1["results"][0]["full_name"], "Lead 0");
    let p2 = app
        .get(
            &format!("{LEADS}?page_size=2&page=2&ordering=full_name"),
            Some(ADMIN),
        )
        .await
        .json();
    assert_eq!(
        p2["previous"],
        json!(format!("{base}?page_size=2&ordering=full_name"))
    );
    assert_eq!(
        p2["next"],
        json!(format!("{base}?page_size=2&page=3&ordering=full_name"))
    );
    let p3 = app
        .get(
            &format!("{LEADS}?page_size=2&page=3&ordering=full_name"),
            Some(ADMIN),
        )
        .await
        .json();
    assert_eq!(p3["next"], Value::Null);
    assert_eq!(p3["results"].as_array().map(Vec::len), Some(1));
    for page in ["4", "0", "x", "-1"] {
        let a = app
            .get(&format!("{LEADS}?page_size=2&page={page}"), Some(ADMIN))
            .await;
        assert_eq!(
            (a.status, a.json()),
            (404, json!({"detail": "Invalid page."})),
            "{page}"
        );
    }
    let newest = app.get(LEADS, Some(ADMIN)).await.json();
    assert_eq!(newest["results"][0]["full_name"], "Lead 4");
}

async fn an_empty_list_has_page_one_and_bad_filters_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let empty = app.get(NEWSLETTER, Some(ADMIN)).await;
    assert_eq!(
        empty.json(),
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    let bad = app.get(&format!("{LEADS}?status=bogus"), Some(ADMIN)).await;
    assert_eq!(
        (bad.status, bad.json()),
        (
            400,
            json!({"status": ["Select a valid choice. bogus is not one of the available choices."]})
        )
    );
    let bad = app
        .get(&format!("{NEWSLETTER}?status=gone"), Some(ADMIN))
        .await;
    assert_eq!(bad.status, 400);
}

async fn search_and_date_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_lead(json!({"full_name": "Ada", "position": "CTO", "company_name": "100%_Pure"}))
        .await;
    app.clock.advance(std::time::Duration::from_secs(86_400));
    app.create_lead(json!({"full_name": "Bob", "position": "Dev"}))
        .await;
    let count = |q: &'static str| {
        let app = &app;
        async move { app.get(&format!("{LEADS}?{q}"), Some(ADMIN)).await.json()["count"].clone() }
    };
    assert_eq!(count("search=%25_p").await, 1);
    assert_eq!(count("search=ADA").await, 1);
    assert_eq!(count("search=%25x").await, 0);
    assert_eq!(count("created_after=2025-01-02").await, 1);
    assert_eq!(count("created_before=2025-01-02").await, 1);
    assert_eq!(count("created_before=2025-01-01T00:00:00Z").await, 0);
}
