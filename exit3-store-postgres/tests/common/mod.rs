//! The test-database harness every PostgreSQL test uses.
//!
//! - With `DATABASE_URL` (a server and a role that may create databases), each test gets
//!   a fresh database, `exit3_test_<pid>_<n>`, copied from a template that this test
//!   binary migrated once, and a small pool (5 connections). Databases left by earlier
//!   runs whose process is gone are dropped when the next run starts.
//! - Without it, when Docker is reachable, one PostgreSQL container per test binary
//!   (testcontainers), with the same fresh database per test inside it.
//! - Otherwise the test prints why it is skipped and returns; with
//!   `EXIT3_REQUIRE_POSTGRES=1` a skip is a failure.
#![allow(dead_code, clippy::unwrap_used)]

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use exit3_core::DynStore;
use exit3_store_postgres::{PostgresOptions, PostgresStore};
use sqlx::{
    ConnectOptions, Connection, PgConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::sync::OnceCell;

/// Where the server is and the template the test databases are copied from.
#[derive(Debug, Clone)]
struct Server {
    admin: PgConnectOptions,
    template: String,
}

static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, migrated database of its own.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Connect options for the new database.
    pub options: PgConnectOptions,
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// A store on this database with a small pool.
    pub async fn store(&self) -> PostgresStore {
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options.clone())
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name));
        PostgresStore::from_pool(pool)
    }

    /// Connects through [`PostgresStore::connect`] with `options` for this database.
    pub fn options_for(&self) -> PostgresOptions {
        PostgresOptions::new(self.url.clone()).max_connections(5)
    }

    /// Drops the database (tests that can, do; the others are swept at the next run).
    pub async fn drop_database(self) {
        if let Some(Ok(server)) = SERVER.get()
            && let Ok(mut conn) = server.admin.connect().await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

fn skip_or_fail(reason: &str) {
    let required = std::env::var("EXIT3_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if required {
        panic!("EXIT3_REQUIRE_POSTGRES=1 but the PostgreSQL tests cannot run: {reason}");
    }
    eprintln!("SKIPPED (no PostgreSQL): {reason}");
}

/// A fresh database, or `None` (after saying why) when no PostgreSQL can be had.
pub async fn test_db() -> Option<TestDb> {
    let server = match SERVER.get_or_init(init_server).await {
        Ok(server) => server.clone(),
        Err(reason) => {
            skip_or_fail(reason);
            return None;
        }
    };
    let name = format!(
        "exit3_test_{}_{}_{}",
        std::process::id(),
        unix_secs(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = server.admin.connect().await.unwrap();
    sqlx::query(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
        server.template
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    let _ = conn.close().await;
    let options = server.admin.clone().database(&name);
    let url = options.to_url_lossy().to_string();
    Some(TestDb { options, name, url })
}

/// A fresh, migrated store with a pool of 5, or `None` when skipped.
pub async fn fresh_store() -> Option<PostgresStore> {
    Some(test_db().await?.store().await)
}

/// [`fresh_store`] as the conformance suite's factory wants it.
pub async fn fresh_dyn_store() -> Option<DynStore> {
    fresh_store().await.map(|s| Arc::new(s) as DynStore)
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn init_server() -> Result<Server, String> {
    let admin = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => PgConnectOptions::from_str(&url)
            .map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?,
        _ => container().await?,
    };
    let mut conn = admin
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", admin.to_url_lossy()))?;
    sweep_stale_databases(&mut conn).await;
    let template = format!("exit3_tpl_{}_{}", std::process::id(), unix_secs());
    sqlx::query(&format!("CREATE DATABASE \"{template}\""))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create a database (the role needs CREATEDB): {e}"))?;
    let _ = conn.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(admin.clone().database(&template))
        .await
        .map_err(|e| format!("cannot connect to {template}: {e}"))?;
    let store = PostgresStore::from_pool(pool);
    store
        .migrate()
        .await
        .map_err(|e| format!("migrating {template} failed: {e:?}"))?;
    store.close().await;
    Ok(Server { admin, template })
}

/// Drops the test databases of earlier runs whose process has ended (or, where process
/// ids cannot be checked, that are older than a day).
async fn sweep_stale_databases(conn: &mut PgConnection) {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname FROM pg_database WHERE datname LIKE 'exit3\\_test\\_%' \
         OR datname LIKE 'exit3\\_tpl\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let can_check_pids = std::path::Path::new("/proc/self").exists();
    let now = unix_secs();
    for (name,) in names {
        let mut parts = name.split('_').skip(2);
        let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
        let secs = parts.next().and_then(|p| p.parse::<u64>().ok());
        let (Some(pid), Some(secs)) = (pid, secs) else {
            continue;
        };
        let stale = if can_check_pids {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        } else {
            now.saturating_sub(secs) > 86_400
        };
        if stale {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// One PostgreSQL container for this test binary, when Docker is reachable.
async fn container() -> Result<PgConnectOptions, String> {
    use testcontainers_modules::{
        postgres::Postgres,
        testcontainers::{ImageExt, runners::AsyncRunner},
    };
    let docker = std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists();
    if !docker {
        return Err("DATABASE_URL is not set and Docker is not reachable \
                    (no DOCKER_HOST, no /var/run/docker.sock); set \
                    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them"
            .into());
    }
    let container = Postgres::default()
        .with_tag("15-alpine")
        .start()
        .await
        .map_err(|e| format!("DATABASE_URL is not set and starting a container failed: {e}"))?;
    let host = container
        .get_host()
        .await
        .map_err(|e| format!("container host: {e}"))?;
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| format!("container port: {e}"))?;
    // Kept running for the whole test binary: the container is never dropped here.
    std::mem::forget(container);
    Ok(PgConnectOptions::new()
        .host(&host.to_string())
        .port(port)
        .username("postgres")
        .password("postgres")
        .database("postgres"))
}
