//! The `exit3-server` binary: `serve` (the default), `migrate`, `check --deploy`,
//! `openapi`, `healthcheck`.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use clap::{Parser, Subcommand};
use exit3_core::{DynStore, Exit3};
use exit3_server::{
    Metrics, Settings, config::Database, endpoint_with_metrics, error_reports, logging,
    metrics::PoolUsage, openapi_json, server,
};
use exit3_store_memory::MemoryStore;
use exit3_store_postgres::{PostgresOptions, PostgresStore};

/// exit3's HTTP API: lead capture and newsletter subscriptions.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API on BIND (the default).
    Serve {
        /// Do not apply database migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Check the configuration; with --deploy, report every setting unfit for production
    /// and exit non-zero when there is one.
    Check {
        /// Run the production checks.
        #[arg(long)]
        deploy: bool,
    },
    /// Print the OpenAPI document (JSON).
    Openapi,
    /// Exit 0 when GET /backend/health/ on BIND answers 200, else 1 (for containers).
    Healthcheck,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve { no_migrate: false });
    if let Command::Openapi = command {
        let store: DynStore = Arc::new(MemoryStore::new());
        println!("{}", openapi_json(Exit3::builder(store).build()));
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("exit3-server: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Check { deploy } => check(&settings, deploy),
        Command::Healthcheck => healthcheck(&settings),
        Command::Migrate => run(&settings, |s| async move { migrate(&s).await }),
        Command::Serve { no_migrate } => run(&settings, move |s| serve(s, !no_migrate)),
        Command::Openapi => ExitCode::SUCCESS,
    }
}

fn run<F, Fut>(settings: &Settings, f: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    // Sentry first, so that the logging picks up its layer; the guard flushes at exit.
    let _reports = error_reports::init(settings);
    if let Err(e) = logging::init(settings) {
        eprintln!("exit3-server: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("exit3-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(f(settings.clone())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("exit3-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How full the PostgreSQL pool is, for the metrics.
type PoolProbe = Arc<dyn Fn() -> PoolUsage + Send + Sync>;

async fn open_store(
    settings: &Settings,
    migrate: bool,
) -> Result<(DynStore, Option<PoolProbe>), String> {
    match &settings.database {
        Database::Memory => {
            tracing::warn!(
                "NO DATABASE CONFIGURED: data is kept IN MEMORY and LOST when the server \
                 stops. Set DATABASE_URL (or DB_NAME/DB_USER/DB_PASSWORD/DB_HOST/DB_PORT) \
                 for PostgreSQL."
            );
            eprintln!(
                "\n*** WARNING: in-memory store: every lead and subscriber is lost when the \
                 server stops. Set DATABASE_URL for PostgreSQL. ***\n"
            );
            Ok((Arc::new(MemoryStore::new()), None))
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(
                PostgresOptions::new(url.clone())
                    .max_connections(settings.db_pool_size)
                    .acquire_timeout(settings.db_acquire_timeout)
                    .statement_timeout(Some(settings.db_statement_timeout)),
            )
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL: {}", chain(&e)))?;
            if migrate {
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("cannot apply the migrations: {}", chain(&e)))?;
                tracing::info!("database migrations applied");
            }
            let pool = store.pool().clone();
            let probe: PoolProbe = Arc::new(move || PoolUsage {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            });
            Ok((Arc::new(store), Some(probe)))
        }
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    exit3_server::wire::chain(e).join(": ")
}

async fn migrate(settings: &Settings) -> Result<(), String> {
    match settings.database {
        Database::Memory => {
            println!("nothing to migrate: no database configured (in-memory store)");
            Ok(())
        }
        Database::Postgres(_) => open_store(settings, true).await.map(|_| ()),
    }
}

async fn serve(settings: Settings, migrate: bool) -> Result<(), String> {
    if let Some(key) = &settings.generated_admin_key {
        tracing::warn!(
            "BASIC_API_KEY is not set: a random admin key was generated for this run only"
        );
        println!(
            "\nBASIC_API_KEY is not set; the admin key of this run is:\n\n    {key}\n\n\
             Send it as `Authorization: Basic {key}`. Set BASIC_API_KEY to keep one.\n"
        );
    }
    if let Some(dsn) = &settings.sentry_dsn {
        if dsn.starts_with("https:") && !cfg!(feature = "sentry-rustls") {
            tracing::error!(
                "SENTRY_DSN is https but this build has no TLS for Sentry: reports will \
                 fail; build with `--features sentry-rustls` (the container image does)"
            );
        } else {
            tracing::info!("error reports go to Sentry");
        }
    }
    let (store, pool) = open_store(&settings, migrate).await?;
    let metrics = Metrics::new(pool);
    let exit3 = settings
        .service_builder(metrics.watch_store(store))
        .observer(metrics.observer())
        .build();
    let bound = server::bind(settings.bind, settings.limits())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    tracing::info!(addr = %bound.local_addr(), "exit3-server listening");
    let app = endpoint_with_metrics(exit3, &settings, metrics);
    bound
        .serve(
            app,
            server::shutdown_signal(),
            Duration::from_secs(settings.shutdown_timeout),
        )
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("exit3-server stopped");
    Ok(())
}

fn check(settings: &Settings, deploy: bool) -> ExitCode {
    if !deploy {
        println!("The configuration is valid. Run `check --deploy` for the production checks.");
        return ExitCode::SUCCESS;
    }
    let problems = settings.deploy_problems();
    if problems.is_empty() {
        println!("check --deploy: no problems found.");
        return ExitCode::SUCCESS;
    }
    println!("check --deploy found {} problem(s):", problems.len());
    for p in &problems {
        println!("  - {p}");
    }
    ExitCode::FAILURE
}

fn healthcheck(settings: &Settings) -> ExitCode {
    let mut addr = settings.bind;
    if addr.ip().is_unspecified() {
        addr = match addr {
            SocketAddr::V4(a) => SocketAddr::from(([127, 0, 0, 1], a.port())),
            SocketAddr::V6(a) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
        };
    }
    let host = settings
        .allowed_hosts
        .first()
        .map_or("localhost", |h| h.example())
        .to_owned();
    match probe(addr, &host) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: /backend/health/ answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /backend/health/` over a plain HTTP/1.1 connection; the status code.
fn probe(addr: SocketAddr, host: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /backend/health/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: exit3-healthcheck\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))
}
