//! The benchmark baseline: a bare poem handler that answers `GET /lead` with the JSON of
//! one lead (the body `POST leads/` answers), with no middleware, no store and no
//! validation. `BENCHMARKS.md` compares the server on the memory store against it.
//!
//! `cargo run --release --example bare_poem -- --serve 127.0.0.1:8002` serves until
//! killed; without `--serve` it starts on a free port, requests itself once and exits.

use std::{error::Error, net::SocketAddr, time::Duration};

use poem::{
    Response, Route, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
};

/// The body exit3-server answers to the load script's `POST leads/`.
const LEAD: &str = r#"{"id":1,"full_name":"Ada Lovelace","position":"CTO","company_name":"Analytical Engines","email":"ada@example.com","phone":"+44 20 7946 0958","message":"We would like to talk about a new project.","status":"new","source":"website","category":"consulting","client_info":{"ip_address":"10.1.2.3","user_agent":"wrk","referrer":"https://exit3.example/contact","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring"},"created_at":"2026-01-01T00:00:00.000000Z","updated_at":"2026-01-01T00:00:00.000000Z"}"#;

#[handler]
fn lead() -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .content_type("application/json")
        .body(LEAD)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let serve = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1));
    let addr: SocketAddr = match serve {
        Some(addr) => addr.parse()?,
        None => ([127, 0, 0, 1], 0).into(),
    };
    let app = Route::new().at("/backend/api/v1/leads/", post(lead).get(lead));
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .ok_or("the listener has no socket address")?;
    println!("bare poem handler on http://{addr}/backend/api/v1/leads/");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            app,
            async {
                let _ = stopped.await;
            },
            Some(Duration::from_secs(5)),
        ),
    );
    if serve.is_some() {
        server.await??;
        return Ok(());
    }
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/backend/api/v1/leads/"))
        .send()
        .await?;
    println!(
        "POST -> {} ({} bytes)",
        resp.status(),
        resp.text().await?.len()
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
