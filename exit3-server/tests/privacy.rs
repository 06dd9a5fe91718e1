//! One person's export and erasure over HTTP (privacy.md §1), on every store: a person
//! is seeded everywhere the API and the staff site can put them — leads by both keys
//! (one quarantined, one with an `Idempotency-Key`), a pending subscription with its
//! confirmation mail, staff notifications and webhook calls queued, history values (a
//! change by the admin key, a note on the staff site, a lead moved off their address) —
//! then exported, erased, and searched for in
//! every table of the database (or the memory store's every collection, through its
//! `Debug`): nothing of them is left, while another person's data all is.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{ADMIN, PUBLIC, TestApp, settings, spawn_on, switch};
use exit3_core::DynStore;
use exit3_store_memory::MemoryStore;
use exit3_store_postgres::{PostgresStore, testing};
use serde_json::{Value, json};

const LEADS: &str = "/backend/api/v1/leads/";
const NEWSLETTER: &str = "/backend/api/v1/newsletter/";
const EXPORT: &str = "/backend/api/v1/privacy/export/";
const ERASE: &str = "/backend/api/v1/privacy/erase/";

/// A store the test can also look inside.
enum Kept {
    Memory(Arc<MemoryStore>),
    Postgres(Box<(PostgresStore, testing::TestDb)>),
}

impl Kept {
    /// Every place (table, or the memory store) whose text holds `needle`.
    async fn places_holding(&self, needle: &str) -> Vec<String> {
        match self {
            Kept::Memory(m) => {
                let all = format!("{m:?}").to_lowercase();
                if all.contains(needle) {
                    vec!["the memory store".to_owned()]
                } else {
                    Vec::new()
                }
            }
            Kept::Postgres(pg) => {
                let store = &pg.0;
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                )
                .fetch_all(store.pool())
                .await
                .unwrap();
                let mut holding = Vec::new();
                for (table,) in tables {
                    let n: i64 = sqlx::query_scalar(&format!(
                        "SELECT count(*) FROM \"{table}\" t WHERE strpos(lower(t::text), $1) > 0"
                    ))
                    .bind(needle)
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
                    if n > 0 {
                        holding.push(format!("{table} ({n} rows)"));
                    }
                }
                holding
            }
        }
    }
}

async fn kept(postgres: bool) -> Option<(Kept, DynStore)> {
    if !postgres {
        let m = Arc::new(MemoryStore::new());
        return Some((Kept::Memory(m.clone()), m));
    }
    let db = testing::test_db().await?;
    let app_store: DynStore = Arc::new(db.store().await);
    let inspect = db.store().await;
    Some((Kept::Postgres(Box::new((inspect, db))), app_store))
}

async fn app_on(store: DynStore) -> TestApp {
    let s = settings(&[("LEAD_NOTIFY_EMAILS", "sales@exit3.agency")]);
    spawn_on(s, switch(store)).await
}

/// Puts `email` everywhere: two accepted leads (public with an `Idempotency-Key`,
/// admin), a quarantined one, a pending subscription.
async fn seed(app: &TestApp, email: &str, key: &str) {
    let lead = |e: &str| json!({"full_name": "Ada Lovelace", "position": "CTO", "email": e});
    let a = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(lead(email)),
            &[("Idempotency-Key", key)],
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let upper = email.to_uppercase();
    assert_eq!(app.post(LEADS, Some(ADMIN), lead(&upper)).await.status, 201);
    let mut doubtful = lead(email);
    doubtful["website"] = json!("http://spam.example");
    assert_eq!(app.post(LEADS, Some(PUBLIC), doubtful).await.status, 201);
    let s = app
        .post(NEWSLETTER, Some(PUBLIC), json!({ "email": email }))
        .await;
    assert_eq!(s.status, 201, "{}", s.text);
}

/// A browser's cookies, kept by hand (the test client keeps none).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, answer: &reqwest::header::HeaderMap) {
        for c in answer.get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                self.0.retain(|(name, _)| name != k);
                self.0.push((k.to_owned(), v.to_owned()));
            }
        }
    }
}

/// The first CSRF token of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrfmiddlewaretoken\" value=\"").unwrap() + 34;
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// Signs in to the staff site as a browser would, and writes `notes` on lead `id` there.
async fn note_on_the_site(app: &TestApp, store: &DynStore, id: &Value, notes: &str) {
    let exit3 = exit3_core::Exit3::builder(store.clone()).build();
    let password = "a long enough password";
    exit3
        .add_staff(exit3_core::StaffInput {
            username: "eve",
            email: "eve@exit3.agency",
            role: exit3_core::StaffRole::Staff,
            password,
        })
        .await
        .unwrap();
    let mut jar = Jar::default();
    let login = app
        .http
        .get(app.url("/backend/admin/login/"))
        .send()
        .await
        .unwrap();
    jar.keep(login.headers());
    let csrf = csrf_of(&login.text().await.unwrap());
    let signed_in = app
        .http
        .post(app.url("/backend/admin/login/"))
        .header("cookie", jar.header())
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("username", "eve"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    jar.keep(signed_in.headers());
    let page = app
        .http
        .get(app.url(&format!("/backend/admin/leads/{id}/")))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let saved = app
        .http
        .post(app.url(&format!("/backend/admin/leads/{id}/notes/")))
        .header("cookie", jar.header())
        .form(&[("csrfmiddlewaretoken", csrf.as_str()), ("notes", notes)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        saved.status(),
        303,
        "{}",
        saved.text().await.unwrap_or_default()
    );
}

async fn a_person_is_exported_then_erased_without_a_trace(postgres: bool) {
    let Some((kept, store)) = kept(postgres).await else {
        return;
    };
    let app = app_on(store.clone()).await;
    let hook = app
        .post(
            "/backend/api/v1/webhooks/",
            Some(ADMIN),
            json!({"url": "https://hooks.example.com/exit3"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    seed(&app, "ada@example.com", "ada-key-1").await;
    seed(&app, "jimbob@example.com", "jim-key-1").await;
    // History values: a change to one of Ada's leads, and a lead that was hers and moved
    // to Carol (its `changed` entry holds Ada's address as the old value).
    let ada_lead = app
        .get(&format!("{LEADS}?search=ada@example.com"), Some(ADMIN))
        .await
        .json()["results"][0]["id"]
        .clone();
    let phoned = app
        .call(
            "PATCH",
            &format!("{LEADS}{ada_lead}/"),
            Some(ADMIN),
            Some(json!({"phone": "+44 20 7946 0001"})),
            &[],
        )
        .await;
    assert_eq!(phoned.status, 200, "{}", phoned.text);
    // Staff's note on the staff site, quoting her address: a history value.
    note_on_the_site(
        &app,
        &store,
        &ada_lead,
        "She wrote back from ada@example.com.",
    )
    .await;
    let moved = app
        .post(
            LEADS,
            Some(ADMIN),
            json!({"full_name": "Carol", "position": "CFO", "email": "ada@example.com"}),
        )
        .await
        .json()["id"]
        .clone();
    let to_carol = app
        .call(
            "PATCH",
            &format!("{LEADS}{moved}/"),
            Some(ADMIN),
            Some(json!({"email": "carol@example.com"})),
            &[],
        )
        .await;
    assert_eq!(to_carol.status, 200, "{}", to_carol.text);
    assert!(!kept.places_holding("ada@example.com").await.is_empty());

    // The export: every lead (any case), the subscriber with its consent, its mail.
    let export = app
        .get(&format!("{EXPORT}?email=ADA@Example.com"), Some(ADMIN))
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(
        export.header("content-disposition"),
        Some("attachment; filename=\"exit3-export.json\"")
    );
    let data = export.json();
    assert_eq!(data["email"], "ada@example.com");
    assert_eq!(data["leads"].as_array().unwrap().len(), 3, "{data}");
    assert_eq!(data["subscriber"]["status"], "pending");
    assert!(data["subscriber"]["consent"].is_object());
    assert_eq!(
        data["deliveries"],
        json!([{
            "time": data["deliveries"][0]["time"],
            "subject": "Please confirm your subscription",
            "status": "pending"
        }])
    );
    // Her three leads and her subscriber were created, one lead changed, and Carol's
    // lead was moved away from her address: newest first.
    let history = data["history"].as_array().unwrap();
    let summary: Vec<String> = history
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["object"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(summary.len(), 7, "{summary:?}");
    assert_eq!(summary[0], format!("changed lead:{moved}"));
    assert_eq!(history[0]["changes"][0]["old"], "ada@example.com");
    assert_eq!(summary[1], format!("changed lead:{ada_lead}"));
    assert_eq!(history[1]["actor"], "staff:eve");
    assert_eq!(
        history[1]["changes"][0]["new"],
        "She wrote back from ada@example.com."
    );
    assert_eq!(summary[2], format!("changed lead:{ada_lead}"));
    assert_eq!(
        history[2]["changes"],
        json!([{"field": "phone", "old": null, "new": "+44 20 7946 0001"}])
    );
    assert!(
        summary[3..].iter().all(|s| s.starts_with("created ")),
        "{summary:?}"
    );
    let nobody = app
        .get(&format!("{EXPORT}?email=nobody@example.com"), Some(ADMIN))
        .await;
    assert_eq!(
        (
            nobody.status,
            nobody.json()["leads"].clone(),
            nobody.json()["subscriber"].clone()
        ),
        (200, json!([]), Value::Null)
    );
    let bad = app.get(&format!("{EXPORT}?email=nope"), Some(ADMIN)).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"email": ["Enter a valid email address."]})
    );
    let missing = app.get(EXPORT, Some(ADMIN)).await;
    assert_eq!(
        missing.json(),
        json!({"email": ["This field is required."]})
    );
    assert_eq!(
        app.get(&format!("{EXPORT}?email=ada@example.com"), Some(PUBLIC))
            .await
            .status,
        403
    );

    // The erasure: the counts, then nothing of Ada anywhere; all of Jim still there.
    assert_eq!(
        app.post(ERASE, Some(PUBLIC), json!({"email": "ada@example.com"}))
            .await
            .status,
        403
    );
    let erased = app
        .post(ERASE, Some(ADMIN), json!({"email": "Ada@EXAMPLE.com"}))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    // Deliveries: the confirmation mail; for each of the two accepted leads and Carol's
    // (created with Ada's address) its staff notification and its `lead.created` call;
    // the `lead.updated` calls of the phone change and of the staff site's note
    // (Carol's shows only her new address).
    assert_eq!(
        erased.json(),
        json!({"erased": {"leads": 3, "subscribers": 1, "deliveries": 9}})
    );
    assert_eq!(
        kept.places_holding("ada@example.com").await,
        Vec::<String>::new(),
        "a copy of the address is left"
    );
    assert_eq!(
        kept.places_holding("+44 20 7946 0001").await,
        Vec::<String>::new(),
        "a value of her history is left"
    );
    // Her history stays as what happened, without its values, and the erasure is in it.
    let erasures = app
        .get("/backend/api/v1/leads/1/history/", Some(ADMIN))
        .await;
    assert_eq!(erasures.status, 200, "{}", erasures.text);
    let moved_history = app
        .get(&format!("{LEADS}{moved}/history/"), Some(ADMIN))
        .await
        .json();
    assert_eq!(moved_history["results"][0]["redacted"], true);
    assert_eq!(
        moved_history["results"][0]["changes"],
        json!([{"field": "email", "old": null, "new": null}])
    );
    let jim = kept.places_holding("jimbob@example.com").await;
    assert!(!jim.is_empty(), "the other person's data must stay");
    let again = app
        .get(&format!("{EXPORT}?email=ada@example.com"), Some(ADMIN))
        .await;
    assert_eq!(again.json()["leads"], json!([]));
    assert_eq!(again.json()["subscriber"], Value::Null);
    assert_eq!(
        app.get(&format!("{LEADS}?search=jimbob"), Some(ADMIN))
            .await
            .json()["count"],
        2,
        "the other person's accepted leads"
    );

    // `person.erased`, by hash, to the endpoint.
    let deliveries = app
        .get(
            &format!(
                "/backend/api/v1/webhooks/{}/deliveries/",
                hook.json()["id"].as_i64().unwrap()
            ),
            Some(ADMIN),
        )
        .await;
    let types: Vec<String> = deliveries.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event_type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(types.iter().any(|t| t == "person.erased"), "{types:?}");
    assert_eq!(
        deliveries.json()["count"],
        types.len(),
        "no delivery row outlives its outbox row"
    );

    // The idempotency record went too: the same key creates anew.
    let retry = app
        .call(
            "POST",
            LEADS,
            Some(PUBLIC),
            Some(
                json!({"full_name": "Ada Lovelace", "position": "CTO", "email": "ada@example.com"}),
            ),
            &[("Idempotency-Key", "ada-key-1")],
        )
        .await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.header("idempotent-replayed"), None);

    // Nobody to erase: zeros, not 404; a bad address: the validation shape.
    let zeros = app
        .post(ERASE, Some(ADMIN), json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!(
        zeros.json(),
        json!({"erased": {"leads": 0, "subscribers": 0, "deliveries": 0}})
    );
    let invalid = app
        .post(ERASE, Some(ADMIN), json!({"email": "a@<b>"}))
        .await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.json()["email"].is_array(), "{}", invalid.text);
    if let Kept::Postgres(pg) = kept {
        let (store, db) = *pg;
        store.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn memory_a_person_is_exported_then_erased_without_a_trace() {
    a_person_is_exported_then_erased_without_a_trace(false).await;
}

#[tokio::test]
async fn postgres_a_person_is_exported_then_erased_without_a_trace() {
    if testing::available().await {
        a_person_is_exported_then_erased_without_a_trace(true).await;
    }
}
