//! The CSV exports over HTTP (privacy.md §3), on every store: the file a spreadsheet
//! opens — BOM, header, RFC 4180 quoting, CRLF, formulas defused — read back with
//! Python's own `csv` module and compared cell by cell with the API's JSON of the same
//! rows; the list's filters and their 400s; the admin key only.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{ADMIN, Backend, PUBLIC, spawn_app};
use serde_json::{Value, json};

const LEADS: &str = "/backend/api/v1/leads/";

/// Reads `csv` with Python's `csv` module (as `utf-8-sig`, which takes the BOM off):
/// the rows, header first. `None` when there is no Python (said on stderr).
fn python_reads(csv: &[u8]) -> Option<Vec<Vec<String>>> {
    let dir = std::env::temp_dir().join(format!("exit3-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.csv", rand_suffix()));
    std::fs::write(&path, csv).unwrap();
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n    \
                  print(json.dumps(list(csv.reader(f))))";
    // CI names its Python (the one with the Standard Webhooks library); there a missing
    // one is a failure, elsewhere the reading is skipped, saying so.
    let required = std::env::var("EXIT3_STANDARDWEBHOOKS_PYTHON").ok();
    let python = required.clone().unwrap_or_else(|| "python3".to_owned());
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).unwrap()),
        Ok(out) => panic!("python: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) if required.is_some() => panic!("{python}: {e}"),
        Err(e) => {
            eprintln!("SKIPPED the Python reading of the CSV: no {python} ({e})");
            None
        }
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

/// The API's value of `column` for `lead` (JSON), as the CSV writes it.
fn api_cell(lead: &Value, column: &str) -> String {
    let value = match column {
        "ip_address" | "user_agent" | "referrer" | "utm_source" | "utm_medium" | "utm_campaign" => {
            &lead["client_info"][column]
        }
        other => &lead[other],
    };
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    }
}

async fn leads_export_as_a_spreadsheet_reads_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let tricky = [
        json!({"full_name": "Ada \"the first\" Lovelace", "position": "CTO, R&D",
               "company_name": "=HYPERLINK(\"http://evil\")", "email": "ada@example.com",
               "phone": "+44 20 7946 0000", "message": "line 1\nline 2\r\nsemi; colon",
               "utm_source": "@news", "status": "contacted"}),
        json!({"full_name": "Zoë Ünïcödé 東京", "position": "-lead-", "category": "design",
               "message": "tab\there <3"}),
        json!({"full_name": "Plain", "position": "Dev", "source": "referral"}),
    ];
    for body in tricky {
        let made = app
            .call(
                "POST",
                LEADS,
                Some(ADMIN),
                Some(body),
                &[("user-agent", "=cmd|' /C calc'!A0")],
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
    }

    let export = app.get(&format!("{LEADS}export.csv"), Some(ADMIN)).await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let disposition = export.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"leads-20")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert_eq!(export.header("cache-control"), Some("no-store"));
    let bytes = export.text.as_bytes();
    assert!(
        bytes.starts_with("\u{feff}id,full_name,".as_bytes()),
        "a BOM, then the header"
    );
    assert!(export.text.contains("updated_at\r\n"), "CRLF line ends");

    // The same rows as the API lists them (same default ordering), cell by cell.
    let listed = app.get(LEADS, Some(ADMIN)).await.json();
    let leads = listed["results"].as_array().unwrap();
    let Some(rows) = python_reads(bytes) else {
        return;
    };
    let header = &rows[0];
    assert_eq!(header.join(","), exit3_core::export::LEAD_HEADER.join(","));
    assert_eq!(rows.len() - 1, leads.len());
    for (row, lead) in rows[1..].iter().zip(leads) {
        for (column, cell) in header.iter().zip(row) {
            assert_eq!(
                cell,
                &api_cell(lead, column),
                "{column} of lead {}",
                lead["id"]
            );
        }
    }
    let ada = rows.iter().find(|r| r[1].starts_with("Ada")).unwrap();
    assert_eq!(ada[3], "'=HYPERLINK(\"http://evil\")", "formulas are text");
    assert_eq!(ada[5], "'+44 20 7946 0000");
    assert_eq!(ada[6], "line 1\nline 2\r\nsemi; colon");
    assert_eq!(ada[11], "'=cmd|' /C calc'!A0");

    // The list's filters, search and ordering; no pages.
    let contacted = app
        .get(
            &format!("{LEADS}export.csv?status=contacted&page=7&page_size=1"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(contacted.status, 200, "{}", contacted.text);
    let rows = python_reads(contacted.text.as_bytes()).unwrap();
    assert_eq!(rows.len(), 2, "the header and Ada");
    let by_name = app
        .get(
            &format!("{LEADS}export.csv?ordering=full_name&search=e"),
            Some(ADMIN),
        )
        .await;
    let names: Vec<String> = python_reads(by_name.text.as_bytes())
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(
        names,
        ["Ada \"the first\" Lovelace", "Plain", "Zoë Ünïcödé 東京"]
    );
    let bad = app
        .get(
            &format!("{LEADS}export.csv?status=bogus&created_after=soon"),
            Some(ADMIN),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"created_after": ["Enter a valid date/time."],
               "status": ["Select a valid choice. bogus is not one of the available choices."]})
    );
    assert_eq!(
        app.get(&format!("{LEADS}export.csv"), Some(PUBLIC))
            .await
            .status,
        403
    );
    assert_eq!(
        app.get(&format!("{LEADS}export.csv"), None).await.status,
        403
    );
    // Without the trailing slash and with it, under both prefixes.
    for path in [
        "/backend/api/v1/leads/export.csv/",
        "/backend/api/leads/export.csv",
    ] {
        assert_eq!(app.get(path, Some(ADMIN)).await.status, 200, "{path}");
    }
}

async fn subscribers_export_as_a_spreadsheet_reads_it(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        json!({"email": "ada@example.com", "full_name": "Ada"}),
        json!({"email": "bob@example.com", "full_name": "+Bob"}),
    ] {
        let made = app
            .post("/backend/api/v1/newsletter/", Some(ADMIN), body)
            .await;
        assert!(made.status == 201, "{}", made.text);
    }
    let export = app
        .get(
            "/backend/api/v1/newsletter/export.csv?ordering=full_name",
            Some(ADMIN),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"subscribers-")
    );
    let Some(rows) = python_reads(export.text.as_bytes()) else {
        return;
    };
    assert_eq!(
        rows[0],
        [
            "id",
            "email",
            "full_name",
            "status",
            "source",
            "created_at",
            "confirmed_at",
            "unsubscribed_at"
        ]
    );
    let listed = app
        .get(
            "/backend/api/v1/newsletter/?ordering=full_name",
            Some(ADMIN),
        )
        .await
        .json();
    for (row, s) in rows[1..].iter().zip(listed["results"].as_array().unwrap()) {
        for (column, cell) in rows[0].iter().zip(row) {
            assert_eq!(cell, &api_cell(s, column), "{column}");
        }
    }
    assert_eq!(rows[1][2], "'+Bob");
    let bad = app
        .get(
            "/backend/api/v1/newsletter/export.csv?status=gone",
            Some(ADMIN),
        )
        .await;
    assert_eq!(bad.status, 400);
}

/// Fails every export batch after the first.
#[derive(Debug, Default)]
struct FailsAfterOneBatch(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl exit3_core::StoreHook for FailsAfterOneBatch {
    async fn before(&self, call: exit3_core::store::StoreCall) -> exit3_core::StoreResult<()> {
        use std::sync::atomic::Ordering::SeqCst;
        if call == exit3_core::store::StoreCall::ListLeadsAfter && self.0.fetch_add(1, SeqCst) >= 1
        {
            return Err(exit3_core::StoreError::other("the disk went away (test)"));
        }
        Ok(())
    }
}

/// A store that fails after the first batch cuts the body off — the client sees a broken
/// transfer, never a short file that looks whole — and one that fails before answers
/// 503 in the contract's shape.
async fn an_export_cut_off_by_a_failing_store_is_never_a_whole_file(backend: Backend) {
    use common::SetMode as _;
    let inner = backend.store().await;
    for i in 0..1500 {
        let lead =
            exit3_core::testing::new_lead(json!({"full_name": format!("P{i}"), "position": "X"}));
        inner
            .insert_lead(
                &lead,
                &Default::default(),
                &exit3_core::Actor::System,
                exit3_core::testing::at(i),
            )
            .await
            .unwrap();
    }
    let failing: exit3_core::DynStore = std::sync::Arc::new(exit3_core::Decorated::new(
        inner,
        FailsAfterOneBatch::default(),
    ));
    let app = common::spawn_on(common::settings(&[]), common::switch(failing)).await;
    app.store.set(common::DOWN);
    let down = app.get(&format!("{LEADS}export.csv"), Some(ADMIN)).await;
    assert_eq!(down.status, 503);
    assert_eq!(
        down.json(),
        json!({"detail": "Service temporarily unavailable."})
    );
    app.store.set(common::UP);

    // Raw HTTP/1.1, to see exactly how the body ends: the chunked body is never
    // terminated (no `0` chunk), and the connection closes.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET {LEADS}export.csv HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {ADMIN}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut raw),
    )
    .await;
    assert!(closed.is_ok(), "the connection is closed, not left hanging");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.ends_with("\r\n0\r\n\r\n"),
        "a cut-off export must not end like a whole one ({} bytes)",
        raw.len()
    );
    // A store that fails at the first batch: an error answer in the contract's shape
    // (the first batch is read before the answer begins).
    let failed = app.get(&format!("{LEADS}export.csv"), Some(ADMIN)).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.json(), json!({"detail": "A server error occurred."}));
}

common::on_every_store!(
    leads_export_as_a_spreadsheet_reads_it,
    subscribers_export_as_a_spreadsheet_reads_it,
    an_export_cut_off_by_a_failing_store_is_never_a_whole_file,
);
