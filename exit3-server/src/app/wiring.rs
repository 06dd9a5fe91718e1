//! Wiring: the store the settings ask for (memory, or PostgreSQL with its pool and
//! migrations), the service over it with the metrics around it, the mailer, and the HTTP
//! options.

use std::sync::Arc;

use exit3_core::{DynStore, Exit3, Mailer, Ports};
use exit3_delivery::{ConsoleMailer, SmtpMailer};
use exit3_store_memory::MemoryStore;
use exit3_store_postgres::{PostgresOptions, PostgresStore};

use super::config::{Database, EmailBackend, Settings};
use crate::{Metrics, errors::chain, metrics::PoolUsage};

/// How full the PostgreSQL pool is, for the metrics.
pub type PoolProbe = Arc<dyn Fn() -> PoolUsage + Send + Sync>;

/// Everything a running server holds.
#[derive(Debug, Clone)]
pub struct Wired {
    /// The service (over the metered store, observed by the metrics).
    pub exit3: Exit3,
    /// The registry of this process.
    pub metrics: Metrics,
    /// What the delivery worker sends through.
    pub ports: Ports,
}

/// The mailer `EMAIL_BACKEND` asks for. Nothing connects yet: an SMTP server that is
/// down shows as retried deliveries, not as a server that cannot start.
pub fn mailer(settings: &Settings) -> Result<Arc<dyn Mailer>, String> {
    let mail = &settings.mail;
    match mail.backend {
        EmailBackend::Console => {
            tracing::info!(
                "EMAIL_BACKEND=console: mails are written to the log, not sent (set \
                 EMAIL_HOST to send them)"
            );
            let mailer = ConsoleMailer::new(&mail.smtp.from)
                .map_err(|e| format!("DEFAULT_FROM_EMAIL: {}", chained(&e)))?;
            Ok(Arc::new(mailer))
        }
        EmailBackend::Smtp => {
            let mailer = SmtpMailer::new(mail.smtp.clone())
                .map_err(|e| format!("cannot set up SMTP: {}", chained(&e)))?;
            tracing::info!(
                host = %mail.smtp.host,
                port = mail.smtp.port,
                security = ?mail.smtp.security,
                "mail goes out over SMTP"
            );
            Ok(Arc::new(mailer))
        }
    }
}

fn chained(e: &(dyn std::error::Error + 'static)) -> String {
    chain(e).join(": ")
}

/// What the delivery worker sends through: the configured mailer, and webhooks over
/// HTTP(S) (`WEBHOOK_ALLOW_PRIVATE` lets them reach private addresses).
pub fn ports(settings: &Settings) -> Result<Ports, String> {
    let webhooks = exit3_delivery::HttpWebhookSender::new(settings.webhook_allow_private)
        .map_err(|e| format!("cannot build the webhook client: {e}"))?;
    Ok(Ports::new(mailer(settings)?).with_webhooks(Arc::new(webhooks)))
}

/// Opens the store (migrating PostgreSQL first when `migrate`).
pub async fn open_store(
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
            .map_err(|e| format!("cannot connect to PostgreSQL: {}", chained(&e)))?;
            if migrate {
                store
                    .migrate()
                    .await
                    .map_err(|e| format!("cannot apply the migrations: {}", chained(&e)))?;
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

/// The service over the store the settings ask for, with this process's metrics and
/// mailer.
pub async fn wire(settings: &Settings, migrate: bool) -> Result<Wired, String> {
    let ports = ports(settings)?;
    if settings.secret_key.is_none() && settings.database != Database::Memory {
        tracing::warn!(
            "SECRET_KEY is not set: unsubscribe links are signed with a key of this run \
             only and stop working at the next start"
        );
    }
    let (store, pool) = open_store(settings, migrate).await?;
    let metrics = Metrics::new(pool);
    let exit3 = settings
        .service_builder(metrics.watch_store(store))
        .observer(metrics.observer())
        .build();
    Ok(Wired {
        exit3,
        metrics,
        ports,
    })
}
