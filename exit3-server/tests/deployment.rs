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

/// Every variable `config.rs` reads: `get("X")`, `rate("X", ..)`, `number("X", ..)`.
fn settings_read() -> BTreeSet<String> {
    let source = repo_file("exit3-server/src/config.rs");
    let mut names = BTreeSet::new();
    for call in ["get(\"", "rate(\"", "number(\""] {
        for piece in source.split(call).skip(1) {
            if let Some(name) = piece.split('"').next()
                && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                names.insert(name.to_owned());
            }
        }
    }
    assert!(names.len() > 20, "{names:?}");
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
                .all(|c| c.is_ascii_uppercase() || c == '_')
                .then(|| (name.to_owned(), value.to_owned(), commented))
        })
        .collect()
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

#[test]
fn env_example_as_given_passes_check_deploy() {
    let vars: Vec<(String, String)> = env_example()
        .into_iter()
        .filter(|(_, _, commented)| !commented)
        .map(|(n, v, _)| (n, v))
        .collect();
    let out = Command::new(BIN)
        .args(["check", "--deploy"])
        .env_clear()
        .envs(vars)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
