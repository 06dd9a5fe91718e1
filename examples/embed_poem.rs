//! An existing poem application — its own routes, its own middleware — that mounts the
//! exit3 API under `/crm`, next to what it already serves.
//!
//! Run with `cargo run --example embed_poem --features server`. It starts on a free
//! port, talks to itself (its own route, then exit3's create and list under `/crm`),
//! and exits; pass `--serve` to keep serving on 127.0.0.1:3000 instead.

use std::{
    error::Error,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use exit3::{ApiKeys, Exit3, MemoryStore, server};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler,
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Json},
};
use serde_json::{Value, json};

const ADMIN_KEY: &str = "embed-demo-admin-key-0123456789abcdef";

/// The application's own route.
#[handler]
fn status(Data(hits): Data<&Arc<AtomicU64>>) -> Json<Value> {
    Json(json!({"app": "shop", "requests_so_far": hits.load(Ordering::Relaxed)}))
}

/// The application's own middleware: counts every request (exit3's too) and tags every
/// response.
async fn count_and_tag<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if let Some(hits) = req.data::<Arc<AtomicU64>>() {
        hits.fetch_add(1, Ordering::Relaxed);
    }
    let mut resp = next.call(req).await?.into_response();
    resp.headers_mut()
        .insert("x-served-by", poem::http::HeaderValue::from_static("shop"));
    Ok(resp)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");

    // exit3: a store, the service with its keys, and the HTTP options of this app (its
    // own host, here any).
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN_KEY], std::iter::empty::<&str>()))
        .build();

    let hits = Arc::new(AtomicU64::new(0));
    let app = Route::new()
        .at("/status", get(status))
        .nest(
            "/crm",
            server::endpoint(exit3, server::HttpOptions::default().any_host()),
        )
        .around(count_and_tag)
        .data(hits.clone());

    let addr: SocketAddr = if serve_forever {
        ([127, 0, 0, 1], 3000).into()
    } else {
        ([127, 0, 0, 1], 0).into()
    };
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .ok_or("the listener has no socket address")?;
    println!("listening on http://{addr} (exit3 under /crm/backend/...)");
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
    if serve_forever {
        server.await??;
        return Ok(());
    }

    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let auth = format!("Basic {ADMIN_KEY}");

    let resp = client.get(format!("{base}/status")).send().await?;
    println!("GET /status -> {} {}", resp.status(), resp.text().await?);

    let resp = client
        .post(format!("{base}/crm/backend/api/v1/leads/"))
        .header("authorization", &auth)
        .json(
            &json!({"full_name": "Ada Lovelace", "position": "CTO", "company_name": "Analytical"}),
        )
        .send()
        .await?;
    let tagged = resp.headers().get("x-served-by").cloned();
    println!(
        "POST /crm/backend/api/v1/leads/ -> {} (x-served-by: {tagged:?})",
        resp.status()
    );
    if resp.status() != 201 {
        return Err(format!("create failed: {}", resp.text().await?).into());
    }

    let list: Value = client
        .get(format!("{base}/crm/backend/api/v1/leads/?status=new"))
        .header("authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "GET /crm/backend/api/v1/leads/?status=new -> count {}",
        list["count"]
    );

    let resp = client.get(format!("{base}/status")).send().await?;
    println!("GET /status -> {}", resp.text().await?);

    let _ = stop.send(());
    server.await??;
    Ok(())
}
