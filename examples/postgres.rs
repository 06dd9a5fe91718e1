//! exit3 on PostgreSQL: connect, apply the migrations, create a lead, list it, subscribe.
//!
//! Run with
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example postgres --features postgres`.
//! Without `DATABASE_URL` it says so and exits with status 2. It writes to the database
//! it is given (one lead and one subscriber per run, with `source = "other"`).

use std::{error::Error as StdError, process::ExitCode, sync::Arc, time::Duration};

use exit3::{ApiKeys, Exit3, Payload, PostgresOptions, PostgresStore, QueryParams, RequestContext};

const ADMIN_KEY: &str = "postgres-example-admin-key-0123456789";

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!(
            "DATABASE_URL is not set. Point it at a PostgreSQL database, e.g.\n    \
             DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
             cargo run --example postgres --features postgres"
        );
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                source = s.source();
            }
            eprintln!("postgres example failed: {msg}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str) -> Result<(), Box<dyn StdError>> {
    let options = PostgresOptions::new(url)
        .max_connections(4)
        .connect_retry_for(Duration::from_secs(5));
    let store = PostgresStore::connect(options).await?;
    store.migrate().await?;
    println!("connected and migrated");

    let exit3 = Exit3::builder(Arc::new(store))
        .keys(ApiKeys::new([ADMIN_KEY], std::iter::empty::<&str>()))
        .build();
    let admin = RequestContext::with_key(ADMIN_KEY);
    exit3.health().await?;

    let form = Payload::empty()
        .with("full_name", "Edsger Dijkstra")
        .with("position", "Professor")
        .with("company_name", "Eindhoven")
        .with("source", "other");
    let lead = exit3.create_lead(&admin, &form).await?;
    println!("created lead {}: {lead}", lead.id);

    let page = exit3
        .list_leads(&admin, &QueryParams::new([("source", "other")]))
        .await?;
    println!("{} lead(s) with source=other; newest first:", page.count);
    for lead in page.items.iter().take(3) {
        println!("  #{} {lead} ({})", lead.id, lead.status);
    }

    let sub = exit3
        .subscribe(
            &admin,
            &Payload::empty().with("email", "pg-example@example.com"),
        )
        .await?;
    println!("subscribe pg-example@example.com: {:?}", sub.outcome);
    Ok(())
}
