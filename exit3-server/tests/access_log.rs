//! The request log of the real binary: one line per request with what operations need,
//! and never an API key or a request body.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_exit3-server");
const ADMIN: &str = "log-test-admin-key-0123456789abcdef0123";
const PUBLIC: &str = "log-test-public-key-0123456789abcdef01";
const MARKER: &str = "Zanzibar-Body-Marker";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One HTTP/1.1 request on a fresh connection; the raw response.
fn request(addr: &str, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let raw = format!(
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn start(addr: &str) -> Child {
    let child = Command::new(BIN)
        .env_clear()
        .envs([
            ("BIND", addr),
            ("BASIC_API_KEY", ADMIN),
            ("PUBLIC_API_KEY", PUBLIC),
            ("LOG_FORMAT", "json"),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn stop(mut child: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let mut log = String::new();
    for pipe in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        let _ = pipe.read_to_string(&mut log);
    }
    log
}

#[test]
fn every_request_is_logged_once_without_keys_or_bodies() {
    let addr = format!("127.0.0.1:{}", free_port());
    let server = start(&addr);
    let body = format!(r#"{{"full_name":"{MARKER}","position":"x","message":"{MARKER}"}}"#);
    let created = request(
        &addr,
        &format!(
            "POST /backend/api/v1/leads/ HTTP/1.1\r\nAuthorization: Basic {PUBLIC}\r\n\
             Content-Type: application/json\r\nX-Request-Id: given-id-123"
        ),
        &body,
    );
    let refused = request(
        &addr,
        &format!("GET /backend/api/v1/leads/42/ HTTP/1.1\r\nX-API-Key: {ADMIN}x"),
        "",
    );
    let listed = request(
        &addr,
        &format!(
            "GET /backend/api/v1/leads/?search={MARKER} HTTP/1.1\r\nAuthorization: Bearer {ADMIN}"
        ),
        "",
    );
    let head = request(&addr, "HEAD /backend/health/ HTTP/1.1", "");
    let log = stop(server);

    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    assert!(
        created
            .to_ascii_lowercase()
            .contains("x-request-id: given-id-123"),
        "{created}"
    );
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "HEAD of a GET route: {head}"
    );

    for secret in [ADMIN, PUBLIC] {
        assert!(!log.contains(secret), "a key reached the log:\n{log}");
    }
    assert!(
        !log.contains(&format!(r#""full_name":"{MARKER}""#)),
        "a body reached the log:\n{log}"
    );
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"request_id\""))
        .collect();
    assert_eq!(lines.len(), 4, "one line per request:\n{log}");
    let create_line = lines
        .iter()
        .find(|l| l.contains("given-id-123"))
        .unwrap_or_else(|| panic!("the given request id is logged:\n{log}"));
    for field in [
        "\"method\":\"POST\"",
        "\"status\":201",
        "\"route\":",
        "\"duration_ms\":",
        "\"client\":\"127.0.0.1\"",
    ] {
        assert!(
            create_line.contains(field),
            "{field} missing: {create_line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("\"status\":403")
            && l.contains("\"route\":\"/backend/api/v1/leads/{id}/\"")),
        "route templates, not raw paths:\n{log}"
    );
}
