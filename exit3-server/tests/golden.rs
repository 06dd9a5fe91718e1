//! Recorded answers: a fixed script of requests (every route, both prefixes, success
//! and every kind of error, CORS, `OPTIONS`, methods, bodies) against the real server on
//! the memory store with a manual clock (double opt-in off, as the Django backend),
//! written as status, headers and body, and the
//! OpenAPI document — compared with the files in `tests/golden/`. A change of layout
//! must leave them byte for byte the same; a change of behaviour updates them on
//! purpose: `EXIT3_BLESS=1 cargo test -p exit3-server --test golden`.

mod common;

use std::{fmt::Write as _, path::PathBuf};

use common::{ADMIN, Backend, PUBLIC, spawn_with};
use serde_json::json;

/// One request of the script: method, path, key, JSON body, extra headers.
type Step<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Option<serde_json::Value>,
    Vec<(&'a str, &'a str)>,
);

/// Headers that differ from run to run, or that describe the connection.
const VARYING: &[&str] = &[
    "date",
    "x-request-id",
    "content-length",
    "connection",
    "etag",
];

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file `name`, or writes it with `EXIT3_BLESS=1`.
fn compare(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var("EXIT3_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap_or(&path)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with EXIT3_BLESS=1)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  expected: {a}\n  actual:   {b}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        panic!(
            "{name} differs from the recorded answers ({first}); if the change is meant, \
             bless with EXIT3_BLESS=1"
        );
    }
}

#[tokio::test]
async fn the_answers_are_the_recorded_ones() {
    let app = spawn_with(
        Backend::Memory,
        &[
            ("CORS_ALLOWED_ORIGINS", "https://www.exit3.example"),
            ("THROTTLE_LEAD_CREATE", "4/hour"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
            // The original backend's newsletter, answer for answer (double opt-in is
            // `consent.rs`'s).
            ("NEWSLETTER_DOUBLE_OPT_IN", "false"),
        ],
    )
    .await;
    let v1 = "/backend/api/v1";
    let bearer = format!("Bearer {ADMIN}");
    let legacy = "/backend/api";
    let lead = json!({"full_name": "Ada Lovelace", "position": "CTO", "company_name": "Analytical",
        "email": "Ada@Example.COM", "phone": "+44 20", "message": "Hello\nthere",
        "utm_source": "news"});
    let script: Vec<Step<'_>> = vec![
        ("GET", "/backend/health/".into(), None, None, vec![]),
        ("GET", "/backend/health/live".into(), None, None, vec![]),
        (
            "POST",
            format!("{v1}/leads/"),
            Some(ADMIN),
            Some(lead.clone()),
            vec![
                ("user-agent", "golden/1.0"),
                ("referer", "https://exit3.example/contact"),
            ],
        ),
        (
            "POST",
            format!("{v1}/leads"),
            Some(PUBLIC),
            Some(json!({"full_name": "Pat", "position": "Dev", "status": "lost"})),
            vec![("x-forwarded-for", "198.51.100.7")],
        ),
        (
            "POST",
            format!("{legacy}/leads/"),
            Some(ADMIN),
            Some(
                json!({"full_name": "Grace", "position": "Admiral", "status": "qualified", "source": "event", "category": "design"}),
            ),
            vec![],
        ),
        ("GET", format!("{v1}/leads/"), Some(ADMIN), None, vec![]),
        (
            "GET",
            format!("{v1}/leads/?page_size=1&status=new&ordering=full_name"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{v1}/leads/?page_size=1&page=2"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{v1}/leads/?page=9"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{v1}/leads/?status=bogus&category=x&created_after=soon"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{v1}/leads/?search=ADA&created_after=2024-01-01"),
            Some(ADMIN),
            None,
            vec![],
        ),
        ("GET", format!("{v1}/leads/1/"), Some(ADMIN), None, vec![]),
        ("GET", format!("{v1}/leads/abc/"), Some(ADMIN), None, vec![]),
        ("GET", format!("{v1}/leads/99/"), Some(ADMIN), None, vec![]),
        (
            "PATCH",
            format!("{v1}/leads/1/"),
            Some(ADMIN),
            Some(json!({"status": "contacted", "company_name": null})),
            vec![],
        ),
        (
            "PATCH",
            format!("{v1}/leads/1/"),
            Some(ADMIN),
            Some(json!({"email": "nope", "status": "bogus", "full_name": ""})),
            vec![],
        ),
        (
            "PUT",
            format!("{v1}/leads/1/"),
            Some(ADMIN),
            Some(json!({"full_name": "Ada L"})),
            vec![],
        ),
        (
            "PUT",
            format!("{v1}/leads/1/"),
            Some(ADMIN),
            Some(json!({"full_name": "Ada L", "position": "CEO"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/leads/"),
            Some(ADMIN),
            Some(
                json!({"email": "x@mailinator.com", "phone": "CALL ME", "message": "<b>hi</b>", "full_name": null}),
            ),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/leads/"),
            Some(ADMIN),
            Some(json!([1])),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/leads/"),
            None,
            Some(lead.clone()),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/leads/"),
            Some("not-a-key-0123456789abcdef0123456"),
            Some(lead.clone()),
            vec![],
        ),
        ("GET", format!("{v1}/leads/"), Some(PUBLIC), None, vec![]),
        (
            "DELETE",
            format!("{v1}/leads/2/"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "DELETE",
            format!("{v1}/leads/2/"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/"),
            Some(ADMIN),
            Some(json!({"email": "Sub@Example.com", "full_name": "Sub"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/"),
            Some(PUBLIC),
            Some(json!({"email": "sub@example.com"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/"),
            Some(PUBLIC),
            Some(json!({"email": "new@example.com", "source": "social"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/unsubscribe/"),
            Some(PUBLIC),
            Some(json!({"email": "SUB@example.com"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/unsubscribe/"),
            Some(PUBLIC),
            Some(json!({"email": "nobody@example.com"})),
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/confirm/"),
            Some(PUBLIC),
            Some(json!({"token": "never-issued"})),
            vec![],
        ),
        (
            "GET",
            "/backend/newsletter/confirm/?token=short".into(),
            None,
            None,
            vec![],
        ),
        (
            "GET",
            "/backend/newsletter/unsubscribe/?token=tampered".into(),
            None,
            None,
            vec![],
        ),
        (
            "OPTIONS",
            "/backend/newsletter/unsubscribe/".into(),
            None,
            None,
            vec![],
        ),
        (
            "POST",
            format!("{v1}/newsletter/"),
            Some(PUBLIC),
            Some(json!({"email": "sub@example.com"})),
            vec![],
        ),
        (
            "GET",
            format!("{v1}/newsletter/?status=active&ordering=-full_name"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{v1}/newsletter/1/"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "PATCH",
            format!("{v1}/newsletter/1/"),
            Some(ADMIN),
            Some(json!({"email": "new@example.com"})),
            vec![],
        ),
        (
            "PATCH",
            format!("{v1}/newsletter/1/"),
            Some(ADMIN),
            Some(json!({"status": "unsubscribed", "full_name": null})),
            vec![],
        ),
        (
            "DELETE",
            format!("{v1}/newsletter/2/"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "GET",
            format!("{legacy}/newsletter/"),
            Some(ADMIN),
            None,
            vec![],
        ),
        (
            "PUT",
            format!("{v1}/newsletter/1/"),
            Some(ADMIN),
            Some(json!({})),
            vec![],
        ),
        ("GET", format!("{v1}/nope/"), Some(ADMIN), None, vec![]),
        ("OPTIONS", format!("{v1}/leads/"), None, None, vec![]),
        (
            "OPTIONS",
            format!("{v1}/leads/"),
            None,
            None,
            vec![
                ("origin", "https://www.exit3.example"),
                ("access-control-request-method", "POST"),
            ],
        ),
        (
            "GET",
            format!("{v1}/leads/"),
            Some(ADMIN),
            None,
            vec![("origin", "https://www.exit3.example")],
        ),
        (
            "GET",
            format!("{v1}/leads/"),
            Some(ADMIN),
            None,
            vec![("origin", "https://evil.example")],
        ),
        (
            "GET",
            format!("{v1}/leads/"),
            None,
            None,
            vec![("x-api-key", ADMIN)],
        ),
        (
            "GET",
            format!("{v1}/leads/"),
            None,
            None,
            vec![("authorization", bearer.as_str())],
        ),
        (
            "GET",
            format!("{v1}/leads/"),
            None,
            None,
            vec![("authorization", "Token nope")],
        ),
        ("HEAD", "/backend/health/live/".into(), None, None, vec![]),
        ("GET", "/backend/metrics/".into(), None, None, vec![]),
        (
            "GET",
            "/backend/metrics/".into(),
            Some(PUBLIC),
            None,
            vec![],
        ),
        (
            "POST",
            "/backend/metrics/".into(),
            Some(ADMIN),
            None,
            vec![],
        ),
        ("GET", "/elsewhere".into(), None, None, vec![]),
    ];
    let mut out = String::new();
    for (i, (method, path, key, body, headers)) in script.into_iter().enumerate() {
        let a = app.call(method, &path, key, body.clone(), &headers).await;
        let _ = writeln!(
            out,
            "### {i} {method} {path} key={} body={}",
            key.map_or("none", |k| if k == ADMIN {
                "admin"
            } else if k == PUBLIC {
                "public"
            } else {
                "other"
            }),
            body.map_or("-".into(), |b| b.to_string())
        );
        let _ = writeln!(out, "{}", a.status);
        let mut names: Vec<&str> = a.headers.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names.into_iter().filter(|n| !VARYING.contains(n)) {
            for value in a.headers.get_all(name) {
                let _ = writeln!(out, "{name}: {}", value.to_str().unwrap_or("<binary>"));
            }
        }
        let _ = writeln!(out, "\n{}\n", a.text);
    }
    // Bodies over the limit, and media types, sent raw.
    for (content_type, payload) in [
        ("text/plain", "x".to_owned()),
        ("application/json", "{\"full_name\": ".to_owned()),
        (
            "application/x-www-form-urlencoded",
            "full_name=Form&position=Filled".to_owned(),
        ),
        (
            "application/json",
            format!("{{\"x\": \"{}\"}}", "a".repeat(70_000)),
        ),
    ] {
        let req = app
            .http
            .post(app.url(&format!("{v1}/leads/")))
            .header("authorization", format!("Basic {ADMIN}"))
            .header("content-type", content_type)
            .body(payload);
        let a = common::send(req).await;
        let _ = writeln!(
            out,
            "### raw POST {content_type}\n{}\n{}\n",
            a.status, a.text
        );
    }
    compare("answers.txt", &out.replace(&app.addr.to_string(), "SERVER"));
}

#[test]
fn the_openapi_document_is_the_recorded_one() {
    let doc = serde_json::to_string_pretty(&*common::openapi::DOCUMENT).unwrap_or_default();
    compare("openapi.json", &format!("{doc}\n"));
}
