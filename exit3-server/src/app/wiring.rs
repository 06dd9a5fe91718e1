//! Wiring: the store the settings ask for (memory, or PostgreSQL with its pool and
//! migrations), the service over it with the metrics around it, and the HTTP options.

use std::sync::Arc;

use exit3_core::{DynStore, Exit3};
use exit3_store_memory::MemoryStore;
use exit3_store_postgres::{PostgresOptions, PostgresStore};

use super::config::{Database, Settings};
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
}

fn chained(e: &(dyn std::error::Error + 'static)) -> String {
    chain(e).join(": ")
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

/// The service over the store the settings ask for, with this process's metrics.
pub async fn wire(settings: &Settings, migrate: bool) -> Result<Wired, String> {
    let (store, pool) = open_store(settings, migrate).await?;
    let metrics = Metrics::new(pool);
    let exit3 = settings
        .service_builder(metrics.watch_store(store))
        .observer(metrics.observer())
        .build();
    Ok(Wired { exit3, metrics })
}
