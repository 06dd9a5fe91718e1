//! The binary: subcommands, configuration errors, the generated key, `healthcheck`, and a
//! graceful stop on SIGTERM.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_exit3-server");

fn cmd(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).env_clear().envs(vars.iter().copied());
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let out = cmd(args, vars).output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A runtime for the test's own store calls, and a fresh database (`None`: skipped).
fn database() -> Option<(
    tokio::runtime::Runtime,
    exit3_store_postgres::testing::TestDb,
)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let db = runtime.block_on(exit3_store_postgres::testing::test_db())?;
    Some((runtime, db))
}

#[test]
fn openapi_prints_a_valid_document() {
    let (code, out, _) = run(&["openapi"], &[]);
    assert_eq!(code, 0);
    let doc: Result<openapiv3::OpenAPI, _> = serde_json::from_str(&out);
    assert!(doc.is_ok(), "{out}");
}

#[test]
fn a_configuration_that_cannot_work_is_reported_whole_without_a_panic() {
    let (code, _, err) = run(
        &["check"],
        &[
            ("BASIC_API_KEY", "short"),
            ("THROTTLE_GENERAL", "5/fortnight"),
            ("TRUSTED_PROXIES", "10.0.0.0/99"),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("BASIC_API_KEY")
            && err.contains("THROTTLE_GENERAL")
            && err.contains("TRUSTED_PROXIES"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn check_deploy_fails_on_any_production_problem_and_passes_a_production_setup() {
    let (code, out, _) = run(
        &["check", "--deploy"],
        &[("DEBUG", "true"), ("ALLOWED_HOSTS", "*")],
    );
    assert_eq!(code, 1);
    for word in [
        "DEBUG",
        "SECRET_KEY",
        "BASIC_API_KEY",
        "ALLOWED_HOSTS",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "memory",
        "EMAIL_BACKEND is console",
        "PUBLIC_BASE_URL is not set",
        "DEFAULT_FROM_EMAIL",
    ] {
        assert!(out.contains(word), "{word} not reported: {out}");
    }
    let secret = "s3cr3t-K3y_for-Pr0duction!".repeat(3);
    let (code, out, _) = run(
        &["check", "--deploy"],
        &[
            ("SECRET_KEY", &secret),
            ("BASIC_API_KEY", "admin-key-0123456789abcdef0123456789"),
            ("ALLOWED_HOSTS", "api.example.com"),
            ("SECURE_SSL_REDIRECT", "true"),
            ("SECURE_HSTS_SECONDS", "31536000"),
            ("DATABASE_URL", "postgres://u@db/exit3"),
            ("PUBLIC_BASE_URL", "https://exit3.agency"),
            ("EMAIL_HOST", "smtp.example.net"),
            ("EMAIL_PORT", "587"),
            ("EMAIL_USE_TLS", "true"),
            ("DEFAULT_FROM_EMAIL", "Exit Three <hello@exit3.agency>"),
        ],
    );
    assert_eq!(code, 0, "{out}");
}

/// Sends SIGTERM and waits (15 s at most, then kills): the exit status (`None`: it did
/// not stop), standard output and standard error.
fn terminate(mut child: std::process::Child) -> (Option<std::process::ExitStatus>, String, String) {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(term.is_ok_and(|s| s.success()), "kill -TERM failed");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    (status, out, err)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn serve_prints_the_generated_key_answers_healthcheck_and_stops_on_sigterm() {
    let bind = format!("127.0.0.1:{}", free_port());
    let vars = [("BIND", bind.as_str()), ("LOG_FORMAT", "json")];
    let (code, _, _) = run(&["healthcheck"], &vars);
    assert_eq!(code, 1, "nothing listens yet");
    let child = cmd(&[], &vars)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut healthy = false;
    while started.elapsed() < Duration::from_secs(20) {
        if run(&["healthcheck"], &vars).0 == 0 {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, out, err) = terminate(child);
    assert!(healthy, "healthcheck never passed: {err}");
    assert!(
        status.is_some_and(|s| s.success()),
        "did not stop cleanly on SIGTERM: {err}"
    );
    assert!(out.contains("BASIC_API_KEY is not set"), "{out}");
    assert!(
        err.contains("in-memory") || err.contains("IN MEMORY"),
        "{err}"
    );
    assert!(
        err.contains("\"route\":\"/backend/health/\""),
        "one log line per request: {err}"
    );
}

/// `maintenance` runs one step and says what it did; on PostgreSQL it removes the
/// expired throttle state a serving instance left.
#[test]
fn maintenance_runs_one_step_and_reports_it() {
    let now = || exit3_core::Clock::now(&exit3_core::SystemClock);
    let (code, out, err) = run(&["maintenance"], &[("LOG_LEVEL", "warn")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("maintenance: removed throttle_keys=0 idempotency_records=0 sessions=0"),
        "{out}"
    );
    assert!(
        out.contains("retention: quarantine 30d, pending 30d, client info off"),
        "{out}"
    );
    let Some((runtime, db)) = database() else {
        return;
    };
    runtime.block_on(async {
        use exit3_core::store::ThrottleStore as _;
        let store = db.store().await;
        let rate = exit3_core::Rate::new(1, Duration::from_secs(1)).unwrap_or_else(|| panic!());
        for i in 0..3 {
            let key = exit3_core::ThrottleKey::custom(
                exit3_core::ThrottleScope::General,
                format!("general:ip:10.7.0.{i}"),
            );
            store
                .hit(
                    &[exit3_core::ThrottleHit::new(key, rate)],
                    exit3_core::testing::at(0),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // A lead quarantined long ago (retention: 30 days by default), and one of today.
        use exit3_core::store::LeadStore as _;
        for (name, t) in [
            ("Old spam", exit3_core::testing::at(0)),
            ("New spam", now()),
        ] {
            let lead = exit3_core::testing::new_lead(
                serde_json::json!({"full_name": name, "position": "Bot"}),
            )
            .with_quarantine(Some(exit3_core::spam::Quarantine {
                reasons: vec![exit3_core::spam::SpamReason::Honeypot],
                at: t,
            }));
            store
                .insert_lead(&lead, &Default::default(), &exit3_core::Actor::Public, t)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let (code, out, err) = run(
        &["maintenance"],
        &[
            ("DATABASE_URL", &db.url),
            ("LOG_LEVEL", "warn"),
            ("RETENTION_LEAD_DAYS", "off"),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("throttle_keys=3 "), "{out}");
    assert!(out.contains("quarantined_leads=1 "), "{out}");
    runtime.block_on(db.drop_database());
}

/// `worker` runs the delivery worker alone: a subscription queued on the database (by
/// another process) is sent to the SMTP server; SIGTERM stops it cleanly.
#[test]
fn worker_sends_what_the_database_queued_and_stops_on_sigterm() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(db) = runtime.block_on(exit3_store_postgres::testing::test_db()) else {
        return;
    };
    let sink = runtime
        .block_on(exit3_delivery::testing::SmtpSink::start())
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        use exit3_core::store::SubscriberStore as _;
        let store = db.store().await;
        let request = exit3_core::testing::subscribe_request(
            serde_json::json!({"email": "queued@example.com"}),
            true,
        );
        store
            .subscribe(
                &request,
                &exit3_core::Actor::System,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let port = sink.port().to_string();
    let vars = [
        ("DATABASE_URL", db.url.as_str()),
        ("EMAIL_HOST", "127.0.0.1"),
        ("EMAIL_PORT", port.as_str()),
        ("BASIC_API_KEY", "admin-key-0123456789abcdef0123456789"),
        ("LOG_FORMAT", "json"),
    ];
    let child = cmd(&["worker"], &vars)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let received = runtime.block_on(sink.wait_for(1, Duration::from_secs(20)));
    let (status, _, err) = terminate(child);
    let received = received.unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(received[0].recipients, ["queued@example.com"]);
    assert!(
        received[0]
            .data
            .contains("/backend/newsletter/confirm/?token=")
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "did not stop cleanly: {err}"
    );
    assert!(err.contains("delivery worker stopped"), "{err}");
    runtime.block_on(db.drop_database());
}

#[test]
fn privacy_export_and_erase_from_the_shell() {
    let Some((runtime, db)) = database() else {
        return;
    };
    runtime.block_on(async {
        use exit3_core::store::{LeadStore as _, SubscriberStore as _};
        let store = db.store().await;
        let lead = exit3_core::testing::new_lead(
            serde_json::json!({"full_name": "Ada", "position": "CTO", "email": "Ada@example.com"}),
        );
        store
            .insert_lead(
                &lead,
                &Default::default(),
                &exit3_core::Actor::System,
                exit3_core::testing::at(0),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let request = exit3_core::testing::subscribe_request(
            serde_json::json!({"email": "ada@example.com"}),
            true,
        );
        store
            .subscribe(
                &request,
                &exit3_core::Actor::System,
                exit3_core::testing::at(1),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let vars = [("DATABASE_URL", db.url.as_str()), ("LOG_LEVEL", "warn")];
    let (code, out, err) = run(&["privacy", "export", "--email", "ADA@example.com"], &vars);
    assert_eq!(code, 0, "{out}{err}");
    let export: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        export["leads"].as_array().map(Vec::len),
        Some(1),
        "{export}"
    );
    assert_eq!(export["subscriber"]["email"], "ada@example.com");
    assert_eq!(
        export["deliveries"][0]["subject"],
        "Please confirm your subscription"
    );

    // Without `--yes` and without a "yes" on stdin, nothing goes.
    let (code, out, err) = run(&["privacy", "erase", "--email", "ada@example.com"], &vars);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("not erased"), "{err}");
    let (code, out, err) = run(
        &["privacy", "erase", "--email", "ada@example.com", "--yes"],
        &vars,
    );
    assert_eq!(code, 0, "{out}{err}");
    let erased: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        erased,
        serde_json::json!({"erased": {"leads": 1, "subscribers": 1, "deliveries": 1}})
    );
    let (code, _, err) = run(&["privacy", "export", "--email", "nope"], &vars);
    assert_ne!(code, 0);
    assert!(err.contains("Enter a valid email address."), "{err}");
    runtime.block_on(db.drop_database());
}

/// `cmd` with `input` on its stdin.
fn run_with_stdin(args: &[&str], vars: &[(&str, &str)], input: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = cmd(args, vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn createsuperuser_and_changepassword_from_the_shell() {
    let Some((runtime, db)) = database() else {
        return;
    };
    let vars = [("DATABASE_URL", db.url.as_str()), ("LOG_LEVEL", "warn")];
    let create = [
        "createsuperuser",
        "--username",
        "ada",
        "--email",
        "ada@example.com",
        "--password-stdin",
    ];
    let (code, out) = run_with_stdin(&create, &vars, "correct horse battery\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Superuser ada created."), "{out}");
    let (code, out) = run_with_stdin(&create, &vars, "another long password\n");
    assert_ne!(code, 0);
    assert!(
        out.contains("A user with that username already exists."),
        "{out}"
    );
    let (code, out) = run_with_stdin(
        &[
            "createsuperuser",
            "--username",
            "bob",
            "--email",
            "x",
            "--password-stdin",
        ],
        &vars,
        "short\n",
    );
    assert_ne!(code, 0);
    assert!(out.contains("email: Enter a valid email address."), "{out}");
    assert!(out.contains("at least 12 characters"), "{out}");

    let change = ["changepassword", "ADA", "--password-stdin"];
    let (code, out) = run_with_stdin(&change, &vars, "a brand new password\n");
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_with_stdin(
        &["changepassword", "nobody", "--password-stdin"],
        &vars,
        "a brand new password\n",
    );
    assert_ne!(code, 0);
    assert!(out.contains("there is no staff user"), "{out}");

    runtime.block_on(async {
        let exit3 = exit3_core::Exit3::builder(std::sync::Arc::new(db.store().await)).build();
        let ctx = exit3_core::RequestContext::default();
        assert!(
            exit3
                .login(&ctx, "ada", "correct horse battery")
                .await
                .is_err()
        );
        let signed_in = exit3
            .login(&ctx, "ada", "a brand new password")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signed_in.user.role, exit3_core::StaffRole::Superuser);
    });
    runtime.block_on(db.drop_database());
}
