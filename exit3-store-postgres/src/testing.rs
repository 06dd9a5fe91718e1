//! The PostgreSQL test harness: a fresh, migrated database per test (feature `testing`).
//!
//! Every PostgreSQL test of the workspace goes through this module — this crate's own
//! tests and the server's black-box tests — so that they all find their database the
//! same way, skip the same way and clean up the same way:
//!
//! - With `DATABASE_URL` (a server and a role that may create databases), each test gets
//!   a fresh database, `exit3_test_<pid>_<time>_<n>`, copied from a template
//!   (`exit3_tpl_<pid>_<time>`) that the test binary migrated once, and a small pool
//!   (5 connections). Copying a template is fast, so a database per test is cheap.
//! - Without it, when Docker is reachable, a PostgreSQL container (testcontainers) with
//!   the same fresh database per test inside it. The container is created once and then
//!   *reused* by every test binary and every later run (see [Docker](#docker)).
//! - Otherwise [`test_db`] prints `SKIPPED (no PostgreSQL): <why>` and answers `None`,
//!   and the test returns (and passes). With `EXIT3_REQUIRE_POSTGRES=1` a skip is a
//!   failure instead: CI sets it so that a missing database cannot pass unnoticed.
//!
//! # Cleaning up
//!
//! A test may drop its database itself ([`TestDb::drop_database`]); most do not, since
//! its store may still hold connections. Instead, the first test of every test binary
//! drops the databases of earlier runs whose process has ended: `exit3_test_*`,
//! `exit3_tpl_*`, and `exit3_server_test_*` (the names the server's tests used to create
//! before they used this harness). Process ids are checked through `/proc`; where there
//! is none, databases older than a day are dropped (and every `exit3_server_test_*`
//! one). Since `cargo test` runs test binaries one after another, a finished run leaves
//! only the databases of its last binary, and the next run drops them.
//!
//! # Docker
//!
//! Without `DATABASE_URL` the harness starts `postgres:15-alpine` as a container named
//! `exit3-test-postgres` (label `org.exit3.test=postgres`) with testcontainers'
//! *reuse* directive: test binaries keep no handle on it and never remove it, and the
//! next binary — of this run or a later one — finds it by name and label and uses it
//! again (starting it first if it was stopped). So a developer's Docker holds exactly
//! one such container however often the tests run, instead of one leaked container
//! per test binary per run (statics are never dropped, so a container kept in a static
//! would never be removed either). Remove it when you are done with
//! `docker rm -f exit3-test-postgres`.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use exit3_core::store::HealthCheck;
//! use exit3_store_postgres::testing;
//!
//! let Some(store) = testing::fresh_store().await else {
//!     return; // skipped: no PostgreSQL here (it said why on stderr)
//! };
//! assert!(store.health().await.is_ok());
//! # }
//! ```

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use exit3_core::DynStore;
use sqlx::{
    ConnectOptions, Connection, PgConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::sync::OnceCell;

use crate::{PostgresOptions, PostgresStore};

/// The variable that turns a skipped PostgreSQL test into a failure when it is `1`.
pub const REQUIRE_VAR: &str = "EXIT3_REQUIRE_POSTGRES";

/// Connections in the pool of a store made by [`TestDb::store`].
pub const POOL_SIZE: u32 = 5;

/// The name of the reused test container (see [Docker](self#docker)).
pub const CONTAINER_NAME: &str = "exit3-test-postgres";

/// The image tag of the test container.
const CONTAINER_TAG: &str = "15-alpine";

/// Where the server is and the template the test databases are copied from.
#[derive(Debug, Clone)]
struct Server {
    admin: PgConnectOptions,
    template: String,
}

static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, migrated database of one test's own.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Connect options for this database.
    pub options: PgConnectOptions,
    /// Its name, `exit3_test_<pid>_<time>_<n>`.
    pub name: String,
    /// Its URL (with the password, if the server's URL had one).
    pub url: String,
}

impl TestDb {
    /// A store on this database with a pool of [`POOL_SIZE`] connections.
    ///
    /// # Panics
    ///
    /// When the database cannot be connected to: the test fails, as it should.
    pub async fn store(&self) -> PostgresStore {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.options.clone())
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name));
        PostgresStore::from_pool(pool)
    }

    /// Options for [`PostgresStore::connect`] on this database, with a pool of
    /// [`POOL_SIZE`] connections: for tests of connecting itself, or of several stores
    /// (server instances) sharing one database.
    pub fn options_for(&self) -> PostgresOptions {
        PostgresOptions::new(self.url.clone()).max_connections(POOL_SIZE)
    }

    /// Drops the database now, closing whatever connections it still has. Errors are
    /// ignored: a database left behind is dropped by the next run's sweep.
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

/// Whether `EXIT3_REQUIRE_POSTGRES=1` is set.
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// Says why a PostgreSQL test is skipped, or fails it under `EXIT3_REQUIRE_POSTGRES=1`.
///
/// # Panics
///
/// With `EXIT3_REQUIRE_POSTGRES=1`: a skip is then a failure.
fn skip_or_fail(reason: &str) {
    if postgres_required() {
        panic!("{REQUIRE_VAR}=1 but the PostgreSQL tests cannot run: {reason}");
    }
    eprintln!("SKIPPED (no PostgreSQL): {reason}");
}

/// Whether PostgreSQL tests can run here. When they cannot, says so on stderr
/// (`SKIPPED (no PostgreSQL): <why>`) and answers `false`.
///
/// For tests that decide up front, before making databases of their own with
/// [`test_db`].
///
/// # Panics
///
/// When they cannot run and `EXIT3_REQUIRE_POSTGRES=1` is set.
pub async fn available() -> bool {
    match SERVER.get_or_init(init_server).await {
        Ok(_) => true,
        Err(reason) => {
            skip_or_fail(reason);
            false
        }
    }
}

/// A fresh, migrated database for one test, or `None` (after saying why on stderr) when
/// no PostgreSQL can be had.
///
/// The first call of a test binary finds the server (`DATABASE_URL`, else Docker),
/// drops stale test databases and migrates the template; later calls only copy it.
///
/// # Panics
///
/// When there is no PostgreSQL and `EXIT3_REQUIRE_POSTGRES=1` is set, and when the
/// server is there but the database cannot be created.
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
    let mut conn = server
        .admin
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", server.admin.to_url_lossy()));
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

/// A store on a fresh, migrated database ([`TestDb::store`]), or `None` when skipped.
///
/// # Panics
///
/// As [`test_db`] and [`TestDb::store`].
pub async fn fresh_store() -> Option<PostgresStore> {
    Some(test_db().await?.store().await)
}

/// [`fresh_store`] as a [`DynStore`], the shape the core's conformance suite
/// (`exit3_core::store_conformance!`) and the server want.
///
/// # Panics
///
/// As [`fresh_store`].
pub async fn fresh_dyn_store() -> Option<DynStore> {
    fresh_store().await.map(|s| Arc::new(s) as DynStore)
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn init_server() -> Result<Server, String> {
    let (admin, wait_for) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (
            PgConnectOptions::from_str(&url)
                .map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?,
            Duration::ZERO,
        ),
        // A reused container may have just been started again: give it time.
        _ => (container().await?, Duration::from_secs(30)),
    };
    let mut conn = connect_within(&admin, wait_for).await?;
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
    let migrated = store.migrate().await;
    store.close().await;
    migrated.map_err(|e| format!("migrating {template} failed: {e:?}"))?;
    Ok(Server { admin, template })
}

/// Connects, retrying every 250 ms for up to `wait_for`.
async fn connect_within(
    admin: &PgConnectOptions,
    wait_for: Duration,
) -> Result<PgConnection, String> {
    let deadline = tokio::time::Instant::now() + wait_for;
    loop {
        match admin.connect().await {
            Ok(conn) => return Ok(conn),
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(format!("cannot connect to {}: {e}", admin.to_url_lossy())),
        }
    }
}

/// The process id and (except for the server's legacy names) creation time in a test
/// database's name, or `None` for a name that is not a test database's.
fn owner(name: &str) -> Option<(u32, Option<u64>)> {
    let (rest, timed) = if let Some(rest) = name.strip_prefix("exit3_server_test_") {
        (rest, false)
    } else if let Some(rest) = name
        .strip_prefix("exit3_test_")
        .or_else(|| name.strip_prefix("exit3_tpl_"))
    {
        (rest, true)
    } else {
        return None;
    };
    let mut parts = rest.split('_');
    let pid = parts.next()?.parse::<u32>().ok()?;
    if !timed {
        return Some((pid, None));
    }
    let secs = parts.next()?.parse::<u64>().ok()?;
    Some((pid, Some(secs)))
}

/// Drops the test databases of earlier runs whose process has ended (or, where process
/// ids cannot be checked, that are older than a day, and the legacy server ones).
async fn sweep_stale_databases(conn: &mut PgConnection) {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname FROM pg_database WHERE datname LIKE 'exit3\\_test\\_%' \
         OR datname LIKE 'exit3\\_tpl\\_%' OR datname LIKE 'exit3\\_server\\_test\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    let can_check_pids = std::path::Path::new("/proc/self").exists();
    let now = unix_secs();
    for (name,) in names {
        let Some((pid, secs)) = owner(&name) else {
            continue;
        };
        let stale = if can_check_pids {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        } else {
            secs.is_none_or(|secs| now.saturating_sub(secs) > 86_400)
        };
        if stale {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// The reused PostgreSQL test container, when Docker is reachable.
async fn container() -> Result<PgConnectOptions, String> {
    use testcontainers_modules::{
        postgres::Postgres,
        testcontainers::{ContainerRequest, ImageExt, ReuseDirective, runners::AsyncRunner},
    };
    let docker = std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists();
    if !docker {
        return Err("DATABASE_URL is not set and Docker is not reachable \
                    (no DOCKER_HOST, no /var/run/docker.sock); set \
                    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them"
            .into());
    }
    fn request() -> ContainerRequest<Postgres> {
        Postgres::default()
            .with_tag(CONTAINER_TAG)
            .with_container_name(CONTAINER_NAME)
            .with_label("org.exit3.test", "postgres")
            .with_reuse(ReuseDirective::Always)
    }
    let container = match request().start().await {
        Ok(container) => container,
        // Another test process may have created it at the same moment (the name is
        // taken): the second attempt finds it.
        Err(_) => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            request().start().await.map_err(|e| {
                format!(
                    "DATABASE_URL is not set and starting the container {CONTAINER_NAME} \
                     failed: {e} (if a container of that name is not this harness's, \
                     remove it: docker rm -f {CONTAINER_NAME})"
                )
            })?
        }
    };
    let host = container
        .get_host()
        .await
        .map_err(|e| format!("container host: {e}"))?;
    let port = container
        .get_host_port_ipv4(5432)
        .await
        .map_err(|e| format!("container port: {e}"))?;
    // Dropping the handle leaves a container marked for reuse running: the next test
    // binary uses it again.
    drop(container);
    Ok(PgConnectOptions::new()
        .host(&host.to_string())
        .port(port)
        .username("postgres")
        .password("postgres")
        .database("postgres"))
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn test_database_names_name_their_process() {
        assert_eq!(
            owner("exit3_test_411_1795818864_7"),
            Some((411, Some(1_795_818_864)))
        );
        assert_eq!(
            owner("exit3_tpl_411_1795818864"),
            Some((411, Some(1_795_818_864)))
        );
        assert_eq!(owner("exit3_server_test_21401_3"), Some((21_401, None)));
        assert_eq!(owner("exit3"), None);
        assert_eq!(owner("exit3_test_x_1"), None);
        assert_eq!(owner("exit3_tpl_411"), None);
    }
}
