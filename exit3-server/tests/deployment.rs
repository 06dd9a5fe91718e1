//! The deployment files match the server: every setting it reads is in `.env.example` and
//! the configuration table; `.env.example` passes `check --deploy`; `docker-compose.yml`
//! and the `Dockerfile` use only settings and commands that exist. (nginx itself runs in
//! `deploy/test-nginx.sh`.)

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use serde_yaml::Value;

const BIN: &str = env!("CARGO_BIN_EXE_exit3-server");

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every variable the server reads: its settings table and the throttle scopes'.
fn settings_read() -> BTreeSet<String> {
    let names: BTreeSet<String> = exit3_server::app::config::setting_names()
        .map(str::to_owned)
        .collect();
    assert!(names.len() > 30, "{names:?}");
    names
}

/// `(name, value, commented out)` of every `NAME=value` line of `.env.example`.
fn env_example() -> Vec<(String, String, bool)> {
    repo_file(".env.example")
        .lines()
        .filter_map(|line| {
            let (commented, rest) = match line.strip_prefix('#') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (name, value) = rest.split_once('=')?;
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                .then(|| (name.to_owned(), value.to_owned(), commented))
        })
        .collect()
}

/// The configuration table's default of every setting is the one the server applies.
#[test]
fn the_configuration_table_states_the_real_defaults() {
    let table = repo_file("exit3-server/README.md");
    for setting in exit3_server::app::config::SETTINGS
        .iter()
        .filter(|s| !s.default.is_empty())
    {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", setting.name)));
        // Rows of several variables (`DB_NAME`, `DB_USER`, …) list their defaults in order.
        let Some(row) = row else { continue };
        let default = row.split('|').nth(2).unwrap_or_default();
        assert!(
            default.contains(&format!("`{}`", setting.default)),
            "{}: the table says {default:?}, the server {:?}",
            setting.name,
            setting.default
        );
    }
    for scope in exit3_core::ThrottleScope::ALL {
        let spec = scope.spec();
        let row = format!("| `{}` | `{}` |", spec.setting, spec.default);
        assert!(table.contains(&row), "{row} missing from the table");
    }
}

#[test]
fn every_setting_is_in_env_example_and_in_the_configuration_table() {
    let listed: BTreeSet<String> = env_example().into_iter().map(|(n, _, _)| n).collect();
    let table = repo_file("exit3-server/README.md");
    for name in settings_read() {
        assert!(
            listed.contains(&name),
            "{name} is missing from .env.example"
        );
        assert!(
            table.contains(&format!("`{name}`")),
            "{name} is missing from the configuration table"
        );
    }
    for name in &listed {
        assert!(
            settings_read().contains(name),
            ".env.example lists {name}, which nothing reads"
        );
    }
}

fn check_deploy(vars: Vec<(String, String)>) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["check", "--deploy"])
        .env_clear()
        .envs(vars)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The example file carries no usable secret: as given, `check --deploy` refuses it
/// and names each one; with real values filled in, it passes.
#[test]
fn env_example_has_no_usable_keys_and_passes_check_deploy_once_filled_in() {
    let vars: Vec<(String, String)> = env_example()
        .into_iter()
        .filter(|(_, _, commented)| !commented)
        .map(|(n, v, _)| (n, v))
        .collect();
    for secret in [
        "SECRET_KEY",
        "BASIC_API_KEY",
        "PUBLIC_API_KEY",
        "DB_PASSWORD",
    ] {
        let value = vars
            .iter()
            .find(|(n, _)| n == secret)
            .map(|(_, v)| v.as_str());
        assert_eq!(value, Some(""), "{secret} must be empty in .env.example");
    }
    let (ok, text) = check_deploy(vars.clone());
    assert!(!ok, "{text}");
    for named in ["SECRET_KEY", "BASIC_API_KEY"] {
        assert!(text.contains(named), "{named} not reported:\n{text}");
    }
    let filled: Vec<(String, String)> = vars
        .into_iter()
        .map(|(n, v)| match n.as_str() {
            "SECRET_KEY" => (
                n,
                "pT4d9Xq2LmV7sK1wZ8bN3cR6yH0jF5gA-Ue2Wo9Ki4Ml7Qs1Dv".into(),
            ),
            "BASIC_API_KEY" => (n, "3f9a1c0e7b2d4f6a8c1e3b5d7f9a2c4e".into()),
            "PUBLIC_API_KEY" => (n, "Kq7vN2pXw9sL4tR8mZ1cB6yH3jF5gD0a".into()),
            "DB_PASSWORD" => (n, "s3cr3t-db-pass".into()),
            _ => (n, v),
        })
        .collect();
    let (ok, text) = check_deploy(filled);
    assert!(ok, "{text}");
}

/// `check --deploy` refuses what lets the public in: placeholder keys, every address
/// trusted as a proxy, throttling off, a short `SECRET_KEY`; and what keeps mail from
/// working: confirmation mails only logged, links to `BIND`, Django's default sender,
/// SMTP in clear.
#[test]
fn check_deploy_refuses_placeholders_open_proxies_throttles_off_and_short_secrets() {
    let good = [
        (
            "SECRET_KEY",
            "pT4d9Xq2LmV7sK1wZ8bN3cR6yH0jF5gA-Ue2Wo9Ki4Ml7Qs1Dv",
        ),
        ("BASIC_API_KEY", "3f9a1c0e7b2d4f6a8c1e3b5d7f9a2c4e"),
        ("ALLOWED_HOSTS", "exit3.example.com"),
        ("DATABASE_URL", "postgres://exit3@db/exit3"),
        ("SECURE_SSL_REDIRECT", "true"),
        ("SECURE_HSTS_SECONDS", "31536000"),
        ("PUBLIC_BASE_URL", "https://exit3.example.com"),
        ("EMAIL_HOST", "smtp.example.com"),
        ("EMAIL_USE_TLS", "true"),
        ("DEFAULT_FROM_EMAIL", "Exit Three <hello@exit3.example.com>"),
    ];
    let with = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = good
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in extra {
            vars.retain(|(n, _)| n != k);
            vars.push(((*k).to_owned(), (*v).to_owned()));
        }
        vars
    };
    let (ok, text) = check_deploy(with(&[]));
    assert!(ok, "{text}");
    for (extra, expect) in [
        (
            vec![(
                "BASIC_API_KEY",
                "change-me-to-at-least-32-random-characters",
            )],
            "BASIC_API_KEY has a placeholder",
        ),
        (
            vec![("PUBLIC_API_KEY", "your-public-key-goes-here-0123456789")],
            "PUBLIC_API_KEY has a placeholder",
        ),
        (
            vec![(
                "SECRET_KEY",
                "replace-me-with-fifty-random-characters-0123456789",
            )],
            "SECRET_KEY is a placeholder",
        ),
        (
            vec![("SECRET_KEY", "Zx81Qp7Lm2")],
            "SECRET_KEY is shorter than 32",
        ),
        (
            vec![("TRUSTED_PROXIES", "10.0.0.1, 0.0.0.0/0")],
            "TRUSTED_PROXIES",
        ),
        (vec![("TRUSTED_PROXIES", "::/0")], "TRUSTED_PROXIES"),
        (
            vec![("THROTTLE_LEAD_CREATE", "off")],
            "THROTTLE_LEAD_CREATE",
        ),
        (
            vec![("THROTTLE_FAILED_AUTH", "OFF")],
            "THROTTLE_FAILED_AUTH",
        ),
        (vec![("EMAIL_HOST", "")], "EMAIL_BACKEND is console"),
        (vec![("PUBLIC_BASE_URL", "")], "PUBLIC_BASE_URL is not set"),
        (
            vec![("PUBLIC_BASE_URL", "http://exit3.example.com")],
            "PUBLIC_BASE_URL is not https",
        ),
        (
            vec![("DEFAULT_FROM_EMAIL", "webmaster@localhost")],
            "DEFAULT_FROM_EMAIL is webmaster@localhost",
        ),
        (
            vec![("EMAIL_USE_TLS", "false")],
            "without EMAIL_USE_TLS or EMAIL_USE_SSL",
        ),
    ] {
        let (ok, text) = check_deploy(with(&extra));
        assert!(!ok, "{extra:?} passed:\n{text}");
        assert!(
            text.contains(expect),
            "{extra:?}: {expect:?} not in\n{text}"
        );
    }
}

fn subcommand_exists(name: &str) -> bool {
    Command::new(BIN)
        .args([name, "--help"])
        .env_clear()
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_compose_file_wires_the_real_settings_and_commands() {
    let doc: Value = serde_yaml::from_str(&repo_file("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml: {e}"));
    let services = &doc["services"];
    let db = &services["db"];
    assert!(
        db["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:16"))
    );
    assert!(db["healthcheck"]["test"].is_sequence());
    let volume = db["volumes"][0].as_str().unwrap_or_default();
    let named = volume.split(':').next().unwrap_or_default();
    assert!(doc["volumes"].get(named).is_some(), "named volume {named}");

    let server = &services["server"];
    assert_eq!(server["depends_on"]["db"]["condition"], "service_healthy");
    assert_eq!(server["env_file"], ".env");
    let known = settings_read();
    let env = server["environment"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    for (k, _) in &env {
        let k = k.as_str().unwrap_or_default();
        assert!(
            known.contains(k),
            "the compose file sets {k}, which the server does not read"
        );
    }
    assert_eq!(
        env.get("BIND").and_then(Value::as_str),
        Some("0.0.0.0:8000")
    );
    let command = server["command"][0].as_str().unwrap_or_default();
    assert!(subcommand_exists(command), "no subcommand {command:?}");

    let nginx = &services["nginx"];
    assert_eq!(
        nginx["depends_on"]["server"]["condition"],
        "service_healthy"
    );
    let mounts: Vec<&str> = nginx["volumes"]
        .as_sequence()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(mounts.contains(&"./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"));
    // The server trusts exactly nginx's address.
    assert_eq!(
        env.get("TRUSTED_PROXIES").and_then(Value::as_str),
        nginx["networks"]["backend"]["ipv4_address"].as_str()
    );
}

#[test]
fn the_dockerfile_runs_real_commands_as_a_non_root_user() {
    let file = repo_file("Dockerfile");
    let stages: Vec<&str> = file.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(
        !stages[1].contains("rust"),
        "no toolchain in the final stage"
    );
    let user = file
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .unwrap_or_default();
    assert!(!user.contains("root") || user.contains("nonroot"), "{user}");
    assert!(!user.trim_start_matches("USER ").starts_with("0"), "{user}");
    assert!(file.contains("BIND=0.0.0.0:8000"));
    assert!(file.contains("CMD [\"/usr/local/bin/exit3-server\", \"healthcheck\"]"));
    assert!(file.contains("CMD [\"serve\"]"));
    for command in ["serve", "healthcheck", "migrate"] {
        assert!(subcommand_exists(command), "{command}");
    }
}
