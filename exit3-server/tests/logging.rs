//! Logs: size-based rotation of `LOG_FILE` (with a small limit), and the binary writing
//! its log to `LOG_FILE` in the format asked for.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use exit3_server::app::logging::rotating_file;

const BIN: &str = env!("CARGO_BIN_EXE_exit3-server");

fn scratch_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "exit3-logging-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_log_file_rotates_by_size_and_keeps_only_the_newest_files() {
    let dir = scratch_dir();
    let path = dir.join("nested").join("app.log");
    let writer = rotating_file(&path, 2_000, 3).unwrap_or_else(|e| panic!("{e}"));
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..400 {
            tracing::info!(line = i, "a log line long enough to fill the files quickly");
        }
    });
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap_or(&dir))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    assert_eq!(names, ["app.log", "app.log.1", "app.log.2", "app.log.3"]);
    let mut last_lines = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(path.with_file_name(name)).unwrap_or_default();
        // Rotated once past the limit, never inside a line.
        assert!(text.len() < 2_000 + 300, "{name}: {} bytes", text.len());
        for line in text.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: {e}: {line}"));
            last_lines.push(v["fields"]["line"].as_i64().unwrap_or(-1));
        }
    }
    // The newest lines are kept: the current file ends with the last one.
    assert!(last_lines.contains(&399), "{last_lines:?}");
    assert!(!last_lines.contains(&0), "the oldest lines are gone");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_server_writes_its_log_to_log_file_in_the_format_asked_for() {
    for (format, probe) in [
        ("json", "\"message\":\"exit3-server listening\""),
        ("pretty", "exit3-server listening"),
    ] {
        let dir = scratch_dir();
        let file = dir.join("server.log");
        let mut child = Command::new(BIN)
            .arg("serve")
            .env_clear()
            .envs([
                ("BIND", "127.0.0.1:0"),
                ("LOG_FORMAT", format),
                ("LOG_LEVEL", "info"),
                ("LOG_FILE", file.to_str().unwrap_or_default()),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        let text = loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.contains("listening") || Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert!(text.contains(probe), "{format}: {text}");
        if format == "json" {
            for line in text.lines() {
                assert!(
                    serde_json::from_str::<serde_json::Value>(line).is_ok(),
                    "{line}"
                );
            }
        } else {
            assert!(!text.contains('\u{1b}'), "no colours in a file: {text:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn bad_log_settings_stop_the_start_with_one_message() {
    let out = Command::new(BIN)
        .arg("check")
        .env_clear()
        .envs([("LOG_FORMAT", "xml"), ("LOG_LEVEL", "very[loud")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("LOG_FORMAT") && err.contains("LOG_LEVEL"),
        "{err}"
    );
    let text_alias = Command::new(BIN)
        .arg("check")
        .env_clear()
        .envs([("LOG_FORMAT", "text")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(text_alias.status.success(), "text stays an alias of pretty");
}
