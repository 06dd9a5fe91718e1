//! The `exit3-server` binary, as a library module (feature `app`) so that its tests can
//! build what it builds: settings from the environment, the wiring of stores and the
//! service, logging and error reports, background tasks, the command line.

pub mod cli;
pub mod config;
pub mod error_reports;
pub mod logging;
pub mod privacy;
pub mod staff;
pub mod tasks;
pub mod wiring;

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use tokio::sync::watch;

use self::{
    cli::{Cli, Command},
    config::{Database, Settings},
};
use crate::{layered, server};

/// The API and the staff site as the binary serves them: [`endpoint_with`](crate::endpoint_with)
/// with the site at `/backend/admin/`, and the process's error reports around it all
/// (Sentry, when `SENTRY_DSN` is set).
pub fn http(
    exit3: exit3_core::Exit3,
    options: crate::HttpOptions,
) -> impl poem::Endpoint<Output = poem::Response> + use<> {
    let site = staff_site(exit3.clone(), &options);
    error_reports::layer(layered(exit3, options, vec![site]))
}

/// The staff site (exit3-admin), finding its clients by the API's proxy rule.
fn staff_site(exit3: exit3_core::Exit3, options: &crate::HttpOptions) -> crate::Site {
    use poem::EndpointExt;

    let admin = exit3_admin::AdminOptions {
        site_name: options.site_name.clone(),
        client: std::sync::Arc::new(|req: &poem::Request| {
            req.extensions()
                .get::<crate::extract::ClientAddr>()
                .map(|c| exit3_admin::Client {
                    ip: c.ip,
                    https: c.https,
                })
                .unwrap_or_default()
        }),
        ..exit3_admin::AdminOptions::default()
    };
    (
        "/backend/admin",
        exit3_admin::endpoint(exit3, admin).boxed(),
    )
}

/// The binary's `main`.
pub fn main() -> ExitCode {
    match Cli::parse().command() {
        Command::Openapi => cli::openapi(),
        Command::Check { deploy } => with_settings(|s| cli::check(&s, deploy)),
        Command::Healthcheck => with_settings(|s| cli::healthcheck(&s)),
        Command::Migrate => with_settings(|s| run(&s, |s| async move { migrate(&s).await })),
        Command::Maintenance => with_settings(|s| run(&s, |s| async move { maintain(&s).await })),
        Command::Worker => with_settings(|s| run(&s, |s| async move { work(&s).await })),
        Command::Privacy { action } => {
            with_settings(|s| run(&s, move |s| async move { privacy::run(&s, action).await }))
        }
        Command::Createsuperuser {
            username,
            email,
            password_stdin,
        } => with_settings(|s| {
            run(&s, move |s| async move {
                let password = staff::PasswordSource::from_flag(password_stdin);
                staff::create_superuser(&s, &username, &email, password).await
            })
        }),
        Command::Changepassword {
            username,
            password_stdin,
        } => with_settings(|s| {
            run(&s, move |s| async move {
                let password = staff::PasswordSource::from_flag(password_stdin);
                staff::change_password(&s, &username, password).await
            })
        }),
        Command::Serve { no_migrate } => with_settings(|s| run(&s, move |s| serve(s, !no_migrate))),
    }
}

/// Reads the settings and runs `f` with them; a configuration that cannot work stops
/// here with every problem (exit 2).
fn with_settings(f: impl FnOnce(Settings) -> ExitCode) -> ExitCode {
    match Settings::from_env() {
        Ok(settings) => f(settings),
        Err(e) => {
            eprintln!("exit3-server: {e}");
            ExitCode::from(2)
        }
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

async fn migrate(settings: &Settings) -> Result<(), String> {
    match settings.database {
        Database::Memory => {
            println!("nothing to migrate: no database configured (in-memory store)");
            Ok(())
        }
        Database::Postgres(_) => wiring::open_store(settings, true).await.map(|_| ()),
    }
}

async fn maintain(settings: &Settings) -> Result<(), String> {
    let wired = wiring::wire(settings, false).await?;
    let report = wired
        .exit3
        .maintain_once()
        .await
        .map_err(|e| format!("maintenance failed: {e}"))?;
    let removed: Vec<String> = report
        .counts()
        .into_iter()
        .map(|(what, n)| format!("{what}={n}"))
        .collect();
    println!(
        "maintenance: removed {}; counts compacted (retention: {})",
        removed.join(" "),
        settings.retention_summary()
    );
    Ok(())
}

/// `worker`: the delivery worker alone, until a shutdown signal; the step in flight
/// finishes within `SHUTDOWN_TIMEOUT`.
async fn work(settings: &Settings) -> Result<(), String> {
    if settings.database == Database::Memory {
        tracing::warn!(
            "the worker has its own in-memory store: it sees nothing the server queues; \
             set DATABASE_URL"
        );
    }
    let wired = wiring::wire(settings, false).await?;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(tasks::worker(wired.exit3, wired.ports, stopped));
    server::shutdown_signal().await;
    let _ = stop.send(true);
    finish(worker, settings.shutdown_timeout).await;
    Ok(())
}

/// Waits for a background task to finish, at most `seconds`.
async fn finish(task: tokio::task::JoinHandle<()>, seconds: u64) {
    if tokio::time::timeout(Duration::from_secs(seconds), task)
        .await
        .is_err()
    {
        tracing::warn!("a background task did not finish within SHUTDOWN_TIMEOUT");
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
    let wired = wiring::wire(&settings, migrate).await?;
    if settings.database == Database::Memory {
        staff::demo_superuser(&wired.exit3, settings.bind).await;
    }
    let bound = server::bind(settings.bind, settings.limits())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
    tracing::info!(addr = %bound.local_addr(), "exit3-server listening");
    let (stop, stopped) = watch::channel(false);
    let maintenance = tokio::spawn(tasks::maintenance(
        wired.exit3.clone(),
        settings.maintenance_interval,
        stopped.clone(),
    ));
    let worker = if settings.worker {
        Some(tokio::spawn(tasks::worker(
            wired.exit3.clone(),
            wired.ports.clone(),
            stopped,
        )))
    } else {
        tracing::info!("WORKER=off: this process delivers nothing; run `exit3-server worker`");
        None
    };
    let app = http(wired.exit3, settings.http_options(wired.metrics));
    // The signal stops the background tasks at once, so that the worker's step in flight
    // and the requests in flight share one grace period.
    let signalled = {
        let stop = stop.clone();
        async move {
            server::shutdown_signal().await;
            let _ = stop.send(true);
        }
    };
    let served = bound
        .serve(
            app,
            signalled,
            Duration::from_secs(settings.shutdown_timeout),
        )
        .await;
    let _ = stop.send(true);
    let _ = maintenance.await;
    if let Some(worker) = worker {
        finish(worker, settings.shutdown_timeout).await;
    }
    served.map_err(|e| format!("server error: {e}"))?;
    tracing::info!("exit3-server stopped");
    Ok(())
}
