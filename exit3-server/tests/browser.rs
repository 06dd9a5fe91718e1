//! The staff site in a real browser: Debian's `chromium`, headless, driven through
//! `chromedriver` over WebDriver (fantoccini, plain HTTP to the local driver), against the
//! real server on each store. A person signs in, filters and searches, opens a lead,
//! saves an invalid then a valid value, changes the status, deletes with confirmation and
//! signs out; the dashboard and the list are photographed at 1280 and 375 px wide
//! (`target/tmp/browser/*.png`), and each page is checked with axe-core when its script
//! is at `EXIT3_AXE_JS` (no serious or critical violation).
//!
//! Without `chromedriver` or `chromium` the test says that it skipped; with
//! `EXIT3_REQUIRE_BROWSER=1` (CI) a skip is a failure, as is a missing axe-core.

mod common;

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{Backend, bind, serve_on, settings, switch};
use exit3_core::{StaffInput, StaffRole};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// `chromedriver` on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn required() -> bool {
    std::env::var("EXIT3_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The driver and the browser binary, or why not (a skip, or a failure in CI).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let driver = which("chromedriver");
    let browser = which("chromium").or_else(|| which("chromium-browser"));
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        _ => {
            assert!(
                !required(),
                "EXIT3_REQUIRE_BROWSER=1 but chromedriver or chromium is missing"
            );
            eprintln!("SKIPPED (no browser): install Debian's chromium and chromium-driver");
            None
        }
    }
}

async fn start_driver(path: &PathBuf) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver: {e}"));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, port }
}

async fn browser(driver: &Driver, chromium: &PathBuf) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap_or_else(|e| panic!("a browser session: {e}"))
}

fn artefact(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

async fn photograph(c: &Client, name: &str, width: u32) {
    c.set_window_size(width, 900)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let png = c.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(artefact(name), png).unwrap_or_else(|e| panic!("{e}"));
}

/// axe-core on the current page, when its script is given: every serious or critical
/// violation fails the test.
async fn accessible(c: &Client, page: &str) {
    let Some(path) = std::env::var_os("EXIT3_AXE_JS") else {
        assert!(
            !required(),
            "EXIT3_REQUIRE_BROWSER=1 but EXIT3_AXE_JS is not set"
        );
        eprintln!("axe-core not checked on {page}: set EXIT3_AXE_JS to axe.min.js");
        return;
    };
    let script = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    c.execute(&script, vec![])
        .await
        .unwrap_or_else(|e| panic!("loading axe: {e}"));
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
                .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))
                .catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("running axe: {e}"));
    let violations = result
        .as_array()
        .unwrap_or_else(|| panic!("axe answered no list on {page}: {result}"));
    let serious: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    if !violations.is_empty() {
        eprintln!("axe on {page}, minor: {violations:?}");
    }
    assert!(serious.is_empty(), "axe on {page}: {serious:?}");
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.unwrap_or_else(|e| panic!("{css}: {e}"));
    field
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Clicks `css`, which loads another page, and waits until that page has loaded (a
/// marker set on the old page's window is gone and the new document is complete).
async fn click(c: &Client, css: &str) {
    let element = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    navigate(c, element, css).await;
}

async fn navigate(c: &Client, element: fantoccini::elements::Element, what: &str) {
    c.execute("window.__exit3_old_page = true;", vec![])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    for _ in 0..200 {
        let loaded = c
            .execute(
                "return window.__exit3_old_page === undefined \
                 && document.readyState === 'complete';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if loaded {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: no new page within 10 s");
}

async fn page_source(c: &Client) -> String {
    c.source().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn a_person_works_a_lead_in_the_browser(backend: Backend) {
    let Some((driver_path, chromium)) = tools() else {
        return;
    };
    let vars = [("THROTTLE_LEAD_CREATE", "off"), ("THROTTLE_ADMIN", "off")];
    let settings = settings(&vars);
    let (app, exit3) = serve_on(
        bind(&settings).await,
        &settings,
        switch(backend.store().await),
        Default::default(),
    );
    exit3
        .add_staff(StaffInput {
            username: "ada",
            email: "ada@example.com",
            role: StaffRole::Superuser,
            password: PASSWORD,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 1..=30 {
        let status = if i % 3 == 0 { "contacted" } else { "new" };
        let created = app
            .post(
                "/backend/api/v1/leads/",
                Some(common::ADMIN),
                json!({"full_name": format!("Person {i}"), "position": "CTO",
                       "company_name": format!("Acme {i}"), "email": format!("p{i}@example.com"),
                       "status": status}),
            )
            .await;
        assert_eq!(created.status, 201);
    }
    let store = match backend {
        Backend::Memory => "memory",
        Backend::Postgres => "postgres",
    };
    let driver = start_driver(&driver_path).await;
    let c = browser(&driver, &chromium).await;
    let site = app.url("/backend/admin/");

    // Signed out: the sign-in page, then back to where the person was going.
    c.goto(&format!("{site}leads/?status=contacted"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text_of(&c, "h1").await, "Sign in");
    accessible(&c, "sign-in").await;
    fill(&c, "#id_username", "ada").await;
    fill(&c, "#id_password", "not the password").await;
    click(&c, "button[type=submit]").await;
    assert!(
        text_of(&c, ".error")
            .await
            .contains("Please enter a correct username and password.")
    );
    fill(&c, "#id_password", PASSWORD).await;
    click(&c, "main button[type=submit]").await;
    let url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        url.as_str()
            .ends_with("/backend/admin/leads/?status=contacted"),
        "{url}"
    );
    assert!(page_source(&c).await.contains("10 leads."));

    // Search within the filter, through the form.
    fill(&c, "#id_search", "Person 3").await;
    click(&c, "form.filters button[type=submit]").await;
    let url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(url.as_str().contains("status=contacted"), "{url}");
    let html = page_source(&c).await;
    assert!(html.contains("Person 3 (Acme 3)") && html.contains("Person 30 (Acme 30)"));
    assert!(!html.contains("Person 1 (Acme 1)"));
    accessible(&c, "the lead list").await;

    // Open the lead; save a bad address, then a good one.
    click(&c, "table.list tbody tr td a").await;
    assert!(text_of(&c, "h1").await.starts_with("Person"));
    accessible(&c, "a lead").await;
    fill(&c, "#id_email", "not an address").await;
    click(&c, "form[novalidate] button[type=submit]").await;
    assert!(
        text_of(&c, "#err_email")
            .await
            .contains("Enter a valid email address.")
    );
    let typed = c
        .find(Locator::Css("#id_email"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(typed.as_deref(), Some("not an address"), "kept as typed");
    fill(&c, "#id_email", "grace@navy.example").await;
    click(&c, "form[novalidate] button[type=submit]").await;
    assert_eq!(text_of(&c, ".notice").await, "Saved.");

    // One click to the next status.
    let buttons = c
        .find_all(Locator::Css(
            "section[aria-labelledby=status-heading] button",
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut qualified = None;
    for b in buttons {
        if b.text().await.unwrap_or_default() == "Mark qualified" {
            qualified = Some(b);
        }
    }
    let qualified = qualified.unwrap_or_else(|| panic!("a Mark qualified button"));
    navigate(&c, qualified, "Mark qualified").await;
    assert_eq!(text_of(&c, ".notice").await, "Status changed.");
    assert_eq!(text_of(&c, "h1 .status").await, "qualified");

    // A note, then the lead's history says who did what.
    fill(&c, "#id_notes", "Called on Tuesday: send the proposal.").await;
    click(&c, "form[action$='/notes/'] button[type=submit]").await;
    assert_eq!(text_of(&c, ".notice").await, "Notes saved.");
    let history = text_of(&c, "table.history").await;
    assert!(history.contains("staff:ada"), "{history}");
    assert!(history.contains("notes"), "{history}");
    assert!(history.contains("qualified"), "{history}");
    accessible(&c, "a lead with notes and history").await;
    photograph(&c, &format!("lead-1280-{store}.png"), 1280).await;
    photograph(&c, &format!("lead-375-{store}.png"), 375).await;
    c.set_window_size(1280, 900)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lead_url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));

    // The history page, filtered by the person from a link.
    click(&c, "table.history tbody tr td a").await;
    let url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(url.as_str().contains("actor=staff%3Aada"), "{url}");
    assert!(page_source(&c).await.contains("3 changes, newest first."));
    accessible(&c, "the history").await;
    photograph(&c, &format!("history-1280-{store}.png"), 1280).await;

    // A webhook endpoint (superusers): added, its secret shown once, pinged.
    c.goto(&format!("{site}webhooks/"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    accessible(&c, "the webhooks").await;
    fill(&c, "#id_url", "https://hooks.example.com/exit3").await;
    fill(&c, "#id_description", "CRM").await;
    click(&c, "form[action$='/webhooks/'] button[type=submit]").await;
    assert!(text_of(&c, "code.secret").await.starts_with("whsec_"));
    accessible(&c, "a new webhook").await;
    click(&c, "input[value=ping] + button").await;
    assert!(
        text_of(&c, ".notice")
            .await
            .starts_with("A ping is on its way")
    );
    photograph(&c, &format!("webhook-1280-{store}.png"), 1280).await;

    // One person's data (superusers): the erasure's confirmation says what goes.
    c.goto(&format!("{site}privacy/"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    accessible(&c, "the privacy page").await;
    fill(&c, "#id_email", "p1@example.com").await;
    click(&c, "button[value=erase]").await;
    assert!(
        text_of(&c, "#confirm-heading")
            .await
            .contains("Erase everything about p1@example.com?")
    );
    accessible(&c, "the erasure's confirmation").await;
    photograph(&c, &format!("privacy-1280-{store}.png"), 1280).await;
    c.goto(lead_url.as_str())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Delete, after the confirmation page.
    click(&c, "a[href$='/delete/']").await;
    assert_eq!(text_of(&c, "h1").await, "Delete this lead?");
    assert!(page_source(&c).await.contains("grace@navy.example"));
    click(&c, "button.danger").await;
    let url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(url.as_str().contains("/backend/admin/leads/"), "{url}");

    // Tick two leads on the list and delete them, after the confirmation page.
    c.goto(&format!("{site}leads/?status=new"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ticks = c
        .find_all(Locator::Css("input[name=ids]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ticks.len(), 20);
    for t in &ticks[..2] {
        t.click().await.unwrap_or_else(|e| panic!("{e}"));
    }
    c.find(Locator::Css("#id_action"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("delete")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    click(&c, ".bulk button[type=submit]").await;
    assert_eq!(text_of(&c, "h1").await, "Delete 2 leads?");
    click(&c, "button.danger").await;
    assert_eq!(text_of(&c, ".notice").await, "2 leads deleted.");
    assert!(page_source(&c).await.contains("18 leads."));

    // The pictures, at both widths.
    c.goto(&site).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text_of(&c, "h1").await, "Dashboard");
    accessible(&c, "the dashboard").await;
    photograph(&c, &format!("dashboard-1280-{store}.png"), 1280).await;
    photograph(&c, &format!("dashboard-375-{store}.png"), 375).await;
    c.goto(&format!("{site}leads/"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    photograph(&c, &format!("leads-375-{store}.png"), 375).await;
    accessible(&c, "the lead list at 375 px").await;
    photograph(&c, &format!("leads-1280-{store}.png"), 1280).await;

    // Sign out: back to the sign-in page, and the site is closed again.
    click(&c, "form.signout button").await;
    assert_eq!(text_of(&c, "h1").await, "Sign in");
    c.goto(&site).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text_of(&c, "h1").await, "Sign in");
    c.close().await.unwrap_or_else(|e| panic!("{e}"));
}

common::on_every_store!(a_person_works_a_lead_in_the_browser);
