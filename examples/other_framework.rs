//! exit3 from another web framework: axum handlers that call the [`Exit3`] service
//! directly — no poem anywhere in this path. The core is the product; the poem server is
//! one frontend of several.
//!
//! Run with `cargo run --example other_framework`. It starts on a free port, creates a
//! lead, lists the new ones, subscribes, shows a validation error, and exits.

use std::{error::Error as StdError, net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use exit3::{
    ApiKeys, Credential, Error, Exit3, Lead, MemoryStore, Payload, QueryParams, RequestContext,
};
use serde_json::{Value, json};

const ADMIN_KEY: &str = "axum-demo-admin-key-0123456789abcdef";
const PUBLIC_KEY: &str = "axum-demo-public-key";

/// The caller as the core sees it: the key from `Authorization: Basic <key>`, the peer.
fn context(headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .unwrap_or_default();
    RequestContext::new(Credential::Key(key.to_owned()), Some(peer.ip()))
}

/// This frontend's own wire format for a lead.
fn lead_json(lead: &Lead) -> Value {
    json!({
        "id": lead.id.get(),
        "name": lead.full_name,
        "company": lead.company_name,
        "status": lead.status.as_str(),
    })
}

/// Core errors in this frontend's own wire format.
fn error_response(err: &Error) -> Response {
    let status = match err {
        Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = match err {
        Error::Validation(fields) => json!({ "errors": fields }),
        other => json!({ "error": other.to_string() }),
    };
    (status, Json(body)).into_response()
}

async fn create_lead(
    State(exit3): State<Exit3>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let result = match Payload::from_json(body) {
        Ok(payload) => exit3.create_lead(&context(&headers, peer), &payload).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(lead) => (StatusCode::CREATED, Json(lead_json(&lead))).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn list_leads(
    State(exit3): State<Exit3>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = QueryParams::new(form_urlencoded::parse(
        query.as_deref().unwrap_or_default().as_bytes(),
    ));
    match exit3.list_leads(&context(&headers, peer), &params).await {
        Ok(page) => Json(json!({
            "total": page.count,
            "leads": page.items.iter().map(lead_json).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => error_response(&e),
    }
}

async fn subscribe(
    State(exit3): State<Exit3>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let result = match Payload::from_json(body) {
        Ok(payload) => exit3.subscribe(&context(&headers, peer), &payload).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(subscribed) => {
            Json(json!({ "outcome": format!("{:?}", subscribed.outcome) })).into_response()
        }
        Err(e) => error_response(&e),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    let exit3 = Exit3::builder(Arc::new(MemoryStore::new()))
        .keys(ApiKeys::new([ADMIN_KEY], [PUBLIC_KEY]))
        .build();
    let app = Router::new()
        .route("/leads", post(create_lead).get(list_leads))
        .route("/subscribe", post(subscribe))
        .route(
            "/",
            get(|| async { "an axum service that also captures leads" }),
        )
        .with_state(exit3);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    println!("axum listening on http://{addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });

    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let public = format!("Basic {PUBLIC_KEY}");
    let admin = format!("Basic {ADMIN_KEY}");

    let resp = client
        .post(format!("{base}/leads"))
        .header("authorization", &public)
        .json(&json!({"full_name": "Grace Hopper", "position": "Rear Admiral", "company_name": "Navy"}))
        .send()
        .await?;
    println!("POST /leads -> {} {}", resp.status(), resp.text().await?);

    let resp = client
        .post(format!("{base}/leads"))
        .header("authorization", &public)
        .json(&json!({"full_name": "", "email": "not-an-address"}))
        .send()
        .await?;
    println!(
        "POST /leads (bad) -> {} {}",
        resp.status(),
        resp.text().await?
    );

    let resp = client
        .post(format!("{base}/subscribe"))
        .header("authorization", &public)
        .json(&json!({"email": "reader@example.com"}))
        .send()
        .await?;
    println!(
        "POST /subscribe -> {} {}",
        resp.status(),
        resp.text().await?
    );

    let resp = client
        .get(format!("{base}/leads?status=new"))
        .header("authorization", &admin)
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    println!("GET /leads?status=new -> {status} {body}");
    if status != 200 {
        return Err(format!("list failed: {body}").into());
    }

    let _ = stop.send(());
    server.await??;
    Ok(())
}
